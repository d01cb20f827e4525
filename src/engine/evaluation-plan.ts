/**
 * A pack's evaluation plan: the pack's criteria and rule filters numbered once, so that one evaluation keeps its
 * memo in arrays indexed by number instead of maps keyed by name, and knows without looking anything up which
 * criteria an expression reads. Built on first use of a pack and kept as long as the pack is.
 */
import type { CompiledExpression, Criterion, Rule, RulePack } from './pack-types.js';

/** A rule's `orders` or `when` expression, numbered; rules sharing a text share the plan (and its memo slot). */
export interface FilterPlan {
  /** Slot in the per-scope memo of filters. */
  readonly id: number;
  readonly expression: CompiledExpression;
  /** The criterion slot when the expression is a bare reference to a boolean criterion (`%name`). */
  readonly bare?: number;
}

/** A rule with its filters and the criteria its finding carries, numbered. */
export interface RulePlan {
  readonly rule: Rule;
  readonly orders?: FilterPlan;
  readonly when: FilterPlan;
  /** Slots of the criteria the rule reads and its card names, each once. */
  readonly findingSlots: readonly number[];
}

/** The numbered pack. */
export interface EvaluationPlan {
  /** Criteria by slot. */
  readonly criteria: readonly Criterion[];
  /** Criterion name -> slot. */
  readonly slots: ReadonlyMap<string, number>;
  /** Slots of the criteria each criterion reads, by slot. */
  readonly deps: readonly (readonly number[])[];
  readonly rules: readonly RulePlan[];
  /** How many distinct filter texts there are. */
  readonly filterCount: number;
  /** The pack's thresholds as the `%thresholds` variable. */
  readonly thresholds: Readonly<Record<string, unknown>>;
}

const BARE_REFERENCE = /^\s*%([A-Za-z]\w*)\s*$/;
const plans = new WeakMap<RulePack, EvaluationPlan>();

function buildPlan(pack: RulePack): EvaluationPlan {
  const criteria = [...pack.criteria.values()];
  const slots = new Map(criteria.map((c, i) => [c.name, i]));
  const slotOf = (name: string): number => slots.get(name) ?? -1;
  const criterionSlots = (names: Iterable<string>): number[] => [...names].map(slotOf).filter((s) => s >= 0);
  const filters = new Map<string, FilterPlan>();
  const filter = (expression: CompiledExpression): FilterPlan => {
    let plan = filters.get(expression.text);
    if (!plan) {
      const name = BARE_REFERENCE.exec(expression.text)?.[1];
      const bare = name !== undefined && pack.criteria.get(name)?.kind === 'boolean' ? slotOf(name) : undefined;
      plan = { id: filters.size, expression, ...(bare !== undefined ? { bare } : {}) };
      filters.set(expression.text, plan);
    }
    return plan;
  };
  const rules = pack.rules.map((rule) => ({
    rule,
    ...(rule.orders ? { orders: filter(rule.orders) } : {}),
    when: filter(rule.when),
    findingSlots: criterionSlots(new Set([...rule.criteria, ...rule.placeholderCriteria])),
  }));
  return {
    criteria,
    slots,
    deps: criteria.map((c) => criterionSlots(c.dependsOn)),
    rules,
    filterCount: filters.size,
    thresholds: Object.freeze(Object.fromEntries([...pack.thresholds.values()].map((t) => [t.id, t.value]))),
  };
}

/**
 * The plan of a pack, built once per pack.
 * @param pack - the compiled pack.
 * @returns its evaluation plan.
 */
export function planOf(pack: RulePack): EvaluationPlan {
  let plan = plans.get(pack);
  if (!plan) plans.set(pack, (plan = buildPlan(pack)));
  return plan;
}
