/**
 * The evaluation core: (EvaluationContext, RulePack) -> findings. Pure: no HTTP, no tokens, no storage, no clock.
 * Each criterion is evaluated at most once per request (per order for criteria that read %order), and only when an
 * expression reads it, on the per-type arrays of the record, in three-valued logic: met, not met, not known.
 */
import type { Resource } from '@medplum/fhirtypes';
import { isResource, referenceOf } from '../fhir/json.js';
import type { HookName } from '../hooks/types.js';
import { evaluationTime } from './expressions.js';
import { planOf } from './evaluation-plan.js';
import type { EvaluationPlan, FilterPlan, RulePlan } from './evaluation-plan.js';
import type { CompiledExpression, Criterion, Rule, RulePack } from './pack-types.js';
import { DATA_VARIABLES, ORDER_TYPES, SUPPLEMENTARY_VARIABLES } from './pack-types.js';

/** Everything one evaluation reads. */
export interface EvaluationContext {
  readonly hook: HookName;
  /** Resources per data variable (patient, conditions, ...); a variable not here is not known. */
  readonly data: Readonly<Partial<Record<(typeof DATA_VARIABLES)[number], readonly Resource[]>>>;
  /** All draft orders of the call. */
  readonly draftOrders: readonly Resource[];
  /**
   * The orders to judge: all draft orders on order-sign, the selected ones on order-select, the dispatched ones on
   * order-dispatch, the Appointments on appointment-book, none on patient-view and the encounter hooks.
   */
  readonly ordersToJudge: readonly Resource[];
  /** Evaluation time. */
  readonly now: Date;
}

/** Met, not met, or not known (data missing or unreadable). */
export type Truth = boolean | 'unknown';

/** A resource that made a criterion true. */
export interface EvidenceItem {
  /** `Type/id`, or `Type` alone when the resource has no id. */
  readonly reference: string;
  readonly resource: Resource;
}

/** The outcome of one criterion. */
export interface CriterionResult {
  readonly name: string;
  readonly description: string;
  /** Boolean criteria: the truth; value criteria: true when a value was computed, else 'unknown'. */
  readonly truth: Truth;
  /** Value criteria: the computed collection. */
  readonly value?: readonly unknown[];
  readonly evidence: readonly EvidenceItem[];
  /** Why it is not known, when an expression failed on this record. */
  readonly error?: string;
}

/** A rule that fired, with everything its card and coverage conclusion need. */
export interface Finding {
  readonly packId: string;
  readonly packVersion: string;
  readonly rule: Rule;
  /** The order judged (scope order). */
  readonly order?: Resource;
  /** Results of the criteria the rule reads and its card names. */
  readonly results: ReadonlyMap<string, CriterionResult>;
  /** The resources that made the rule fire, and those of the true criteria its card names. */
  readonly evidence: readonly EvidenceItem[];
}

/** Everything an evaluation found. */
export interface Evaluation {
  readonly findings: readonly Finding[];
  /** Orders that a rule with a coverage conclusion concerns (its `orders` held), whether or not it fired. */
  readonly concerned: readonly Resource[];
  /** Criteria evaluated for the patient and per order (all of them when asked for). */
  readonly criteria: readonly { order?: Resource; results: readonly CriterionResult[] }[];
  /** Expressions that failed on this record (the criterion is then not known). */
  readonly errors: readonly { expression: string; order?: string; message: string }[];
}

/** Options of one evaluation. */
export interface EvaluateOptions {
  /** Evaluate every criterion, not only those the firing decisions need (for the SMART app). */
  readonly allCriteria?: boolean;
  /** Criteria to evaluate for every concerned order besides those the rules need (e.g. orderBillingCode). */
  readonly extraOrderCriteria?: readonly string[];
}

function truthOf(result: readonly unknown[]): Truth {
  if (result.length === 0) return 'unknown';
  if (result.length === 1 && typeof result[0] === 'boolean') return result[0];
  return true;
}

/** The truth of a criterion's result: a value criterion is true when it computed a value. */
function truthFor(c: Criterion, raw: readonly unknown[] | Error): Truth {
  if (raw instanceof Error) return 'unknown';
  if (c.kind === 'value') return raw.length > 0 ? true : 'unknown';
  return truthOf(raw);
}

function uniqueEvidence(items: readonly EvidenceItem[]): readonly EvidenceItem[] {
  if (items.length === 0) return NO_EVIDENCE;
  if (items.length === 1) return items;
  const seen = new Set<string>();
  return items.filter((e) => (seen.has(e.reference) ? false : (seen.add(e.reference), true)));
}

/** One scope of an evaluation: the patient, or one order judged. */
interface Scope {
  readonly order: Resource | undefined;
  /** The variables its expressions see: the data, and every criterion, computed when first read (see varsPrototype). */
  readonly vars: Record<string, unknown>;
  /** Criterion results by slot (patient-level criteria live in the patient scope only). */
  readonly results: (CriterionResult | undefined)[];
  /** The same results in the order they were computed. */
  readonly computed: CriterionResult[];
  /** Filter outcomes by filter id: 0 not yet, 1 true, 2 false. */
  readonly filters: Uint8Array;
}

const NO_EVIDENCE: readonly EvidenceItem[] = [];
const NO_VALUE: readonly unknown[] = [];
const TRUE: readonly unknown[] = [true];
const FALSE: readonly unknown[] = [false];
/** A forOrder expression that named no order. */
const NOT_NAMED = Symbol('not named');

/** Where a scope's variables find the evaluation and the scope their criteria are computed in. */
const RUN = Symbol('run');
const SCOPE = Symbol('scope');
type ScopeVars = Record<string | symbol, unknown> & { [RUN]: Run; [SCOPE]: Scope };

const prototypes = new WeakMap<EvaluationPlan, object>();

/**
 * The prototype of every scope's variables under a plan: one getter per criterion, so a criterion is computed only
 * when an expression reads it (the side of an `and` or `or` that cannot change the answer, or the branch of an
 * `iif` not taken, costs nothing). Built once per plan; both engines read variables by name, getters included.
 */
function varsPrototype(plan: EvaluationPlan): object {
  let proto = prototypes.get(plan);
  if (!proto) {
    const made = Object.create(null) as object;
    plan.criteria.forEach((c, slot) => {
      Object.defineProperty(made, c.name, {
        get(this: ScopeVars) {
          return this[RUN].value(slot, this[SCOPE]);
        },
      });
    });
    prototypes.set(plan, (proto = made));
  }
  return proto;
}

/** One request's evaluation state: a scope per order and one for the patient, errors. */
class Run {
  private readonly base: Record<string, unknown>;
  private readonly patient: Scope;
  private readonly scopes = new Map<Resource, Scope>();
  /** Criteria that read data the call could not provide, by slot (absent when all data is there). */
  private readonly unavailable?: Uint8Array;
  readonly errors: { expression: string; order?: string; message: string }[] = [];

  constructor(
    private readonly pack: RulePack,
    private readonly plan: EvaluationPlan,
    ctx: EvaluationContext
  ) {
    const missing = DATA_VARIABLES.filter((v) => ctx.data[v] === undefined && !SUPPLEMENTARY_VARIABLES.has(v));
    if (missing.length > 0) this.unavailable = Uint8Array.from(plan.criteria, (c) => (c.reads.some((v) => missing.includes(v as (typeof DATA_VARIABLES)[number])) ? 1 : 0));
    const time = evaluationTime(ctx.now);
    this.base = { draftOrders: ctx.draftOrders, now: time.now, today: time.today, thresholds: plan.thresholds };
    for (const v of DATA_VARIABLES) this.base[v] = ctx.data[v] ?? [];
    this.patient = this.newScope(undefined);
  }

  private newScope(order: Resource | undefined): Scope {
    const n = this.plan.criteria.length;
    const vars = Object.assign(Object.create(varsPrototype(this.plan)) as ScopeVars, this.base, { order: order ? [order] : [] });
    const scope: Scope = { order, vars, results: new Array<CriterionResult | undefined>(n), computed: [], filters: new Uint8Array(this.plan.filterCount) };
    vars[RUN] = this;
    vars[SCOPE] = scope;
    return scope;
  }

  /** The scope of an order (the patient's when there is none). */
  scope(order: Resource | undefined): Scope {
    if (!order) return this.patient;
    let scope = this.scopes.get(order);
    if (!scope) this.scopes.set(order, (scope = this.newScope(order)));
    return scope;
  }

  /**
   * A criterion's value as expressions read it (its value, or its truth as a boolean, or empty when not known),
   * computed on first read (the result is kept, see result()).
   * @param slot - the criterion's slot in the plan.
   * @param scope - the scope reading it.
   * @returns the value.
   */
  value(slot: number, scope: Scope): readonly unknown[] {
    const r = this.result(slot, scope);
    return r.value ?? (r.truth === 'unknown' ? NO_VALUE : r.truth ? TRUE : FALSE);
  }

  private run(e: CompiledExpression, vars: Record<string, unknown>, order: Resource | undefined): readonly unknown[] | Error {
    try {
      return e.fn({}, vars);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.errors.push({ expression: e.text, ...(order ? { order: referenceOf(order) } : {}), message });
      return new Error(message);
    }
  }

  /**
   * The result of a criterion, computed once per scope (once per request for criteria that do not read %order).
   * @param slot - the criterion's slot in the plan.
   * @param scope - the scope asking.
   * @returns the result.
   */
  result(slot: number, scope: Scope): CriterionResult {
    const c = this.plan.criteria[slot] as Criterion;
    const home = c.perOrder ? scope : this.patient;
    const known = home.results[slot];
    if (known) return known;
    // A criterion naming another order reads its expression and evidence as for that order.
    const other = c.forOrder ? this.otherOrder(c.forOrder, home) : undefined;
    if (other === NOT_NAMED || other instanceof Error) return this.keep(slot, home, { name: c.name, description: c.description, truth: 'unknown', evidence: NO_EVIDENCE, ...(other instanceof Error ? { error: other.message } : {}) });
    const reading = other ? this.scope(other) : home;
    const vars = reading.vars;
    // A criterion with an expression reads its evidence only when found true: most are not.
    const given = c.expression ? this.run(c.expression, vars, reading.order) : undefined;
    const evidenceRaw = c.evidence && (given === undefined || truthFor(c, given) === true) ? this.run(c.evidence, vars, reading.order) : NO_VALUE;
    const raw = given ?? (evidenceRaw instanceof Error ? evidenceRaw : [evidenceRaw.length > 0]);
    const failed = raw instanceof Error ? raw : evidenceRaw instanceof Error ? evidenceRaw : undefined;
    let truth = truthFor(c, raw);
    let evidence = NO_EVIDENCE;
    if (truth === true) {
      const own: EvidenceItem[] = other ? [{ reference: referenceOf(other), resource: other }] : [];
      if (!(evidenceRaw instanceof Error)) for (const item of evidenceRaw) if (isResource(item)) own.push({ reference: referenceOf(item), resource: item });
      // Over data the call could not provide, only resources found are a definite answer; "no", "none" and any
      // computed value are not known.
      if (this.unavailable?.[slot] === 1 && own.length === 0) truth = 'unknown';
      // A criterion without evidence of its own borrows the evidence of the criteria that made it true.
      else if (c.evidence || other) evidence = uniqueEvidence(own);
      else evidence = uniqueEvidence(this.borrowed(slot, home));
    } else if (this.unavailable?.[slot] === 1) truth = 'unknown';
    const result: CriterionResult = { name: c.name, description: c.description, truth, evidence };
    if (c.kind === 'value' && !(raw instanceof Error)) (result as { value?: readonly unknown[] }).value = raw;
    if (failed) (result as { error?: string }).error = failed.message;
    return this.keep(slot, home, result);
  }

  private keep(slot: number, home: Scope, result: CriterionResult): CriterionResult {
    home.results[slot] = result;
    home.computed.push(result);
    return result;
  }

  /**
   * The order a forOrder expression names, read in the scope asking: NOT_NAMED when it names none, an Error (kept
   * with the request's errors) when it fails or names more than one item, or anything but an order resource.
   */
  private otherOrder(e: CompiledExpression, home: Scope): Resource | typeof NOT_NAMED | Error {
    const raw = this.run(e, home.vars, home.order);
    if (raw instanceof Error) return raw;
    if (raw.length === 0) return NOT_NAMED;
    const named = raw[0];
    if (raw.length === 1 && isResource(named) && ORDER_TYPES.has(named.resourceType)) return named;
    const message =
      raw.length > 1 ? `forOrder names ${raw.length} items; it must name one order at most` : isResource(named) ? `forOrder names a ${named.resourceType}, not an order` : 'forOrder names something that is not a resource';
    this.errors.push({ expression: e.text, ...(home.order ? { order: referenceOf(home.order) } : {}), message });
    return new Error(message);
  }

  private borrowed(slot: number, scope: Scope): EvidenceItem[] {
    const items: EvidenceItem[] = [];
    for (const dep of this.plan.deps[slot] ?? []) {
      const r = this.result(dep, scope);
      if (r.truth === true) items.push(...r.evidence);
    }
    return items;
  }

  /**
   * Whether a rule filter is exactly true; computed once per filter text and scope, since many rules share the
   * same filter. A bare criterion reference reads the criterion's result directly.
   */
  holds(f: FilterPlan, scope: Scope): boolean {
    const known = scope.filters[f.id];
    if (known !== 0) return known === 1;
    let value: boolean;
    if (f.bare !== undefined) value = this.result(f.bare, scope).truth === true;
    else {
      const raw = this.run(f.expression, scope.vars, scope.order);
      value = !(raw instanceof Error) && raw.length === 1 && raw[0] === true;
    }
    scope.filters[f.id] = value ? 1 : 2;
    return value;
  }

  finding(r: RulePlan, scope: Scope): Finding {
    const results = new Map<string, CriterionResult>();
    const evidence: EvidenceItem[] = [];
    for (const slot of r.findingSlots) {
      const result = this.result(slot, scope);
      results.set(result.name, result);
      // What made the rule fire, and whatever else true the card cites.
      if (result.truth === true) evidence.push(...result.evidence);
    }
    const finding: Finding = { packId: this.pack.id, packVersion: this.pack.version, rule: r.rule, results, evidence: uniqueEvidence(evidence) };
    if (scope.order) (finding as { order?: Resource }).order = scope.order;
    return finding;
  }

  /** The criteria evaluated so far for the patient, or for one order. */
  evaluated(order: Resource | undefined): CriterionResult[] {
    return order ? [...(this.scopes.get(order)?.computed ?? [])] : [...this.patient.computed];
  }
}

/**
 * Evaluates a pack against one context.
 * @param pack - the compiled pack.
 * @param ctx - the record, the draft orders, the hook and the time.
 * @param options - whether to evaluate every criterion.
 * @returns the findings, the criteria evaluated and any expression errors.
 */
export function evaluatePack(pack: RulePack, ctx: EvaluationContext, options: EvaluateOptions = {}): Evaluation {
  const plan = planOf(pack);
  const run = new Run(pack, plan, ctx);
  const findings: Finding[] = [];
  const concerned = new Set<Resource>();
  const patient = run.scope(undefined);
  for (const r of plan.rules) {
    if (!r.rule.hooks.includes(ctx.hook)) continue;
    if (r.rule.scope === 'patient') {
      if (run.holds(r.when, patient)) findings.push(run.finding(r, patient));
      continue;
    }
    for (const order of ctx.ordersToJudge) {
      const scope = run.scope(order);
      if (!r.orders || !run.holds(r.orders, scope)) continue;
      if (r.rule.coverage) concerned.add(order);
      if (run.holds(r.when, scope)) findings.push(run.finding(r, scope));
    }
  }
  for (const name of options.extraOrderCriteria ?? []) {
    const slot = plan.slots.get(name);
    if (slot !== undefined && plan.criteria[slot]?.perOrder) for (const order of concerned) run.result(slot, run.scope(order));
  }
  if (options.allCriteria) {
    for (const [slot, c] of plan.criteria.entries()) {
      if (!c.perOrder) run.result(slot, patient);
      else for (const order of ctx.ordersToJudge) run.result(slot, run.scope(order));
    }
  }
  const criteria = [{ results: run.evaluated(undefined) }, ...ctx.ordersToJudge.map((order) => ({ order, results: run.evaluated(order) }))];
  return { findings, concerned: ctx.ordersToJudge.filter((o) => concerned.has(o)), criteria, errors: run.errors };
}
