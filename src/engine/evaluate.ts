/**
 * The evaluation core: (EvaluationContext, RulePack) -> findings. Pure: no HTTP, no tokens, no storage, no clock.
 * Each criterion is evaluated at most once per request (per order for criteria that read %order), on the
 * per-type arrays of the record, in three-valued logic: met, not met, not known.
 */
import type { Resource } from '@medplum/fhirtypes';
import { isResource, referenceOf } from '../fhir/json.js';
import type { HookName } from '../hooks/types.js';
import { evaluationTime } from './expressions.js';
import type { CompiledExpression, Criterion, Rule, RulePack } from './pack-types.js';
import { DATA_VARIABLES } from './pack-types.js';

/** Everything one evaluation reads. */
export interface EvaluationContext {
  readonly hook: HookName;
  /** Resources per data variable (patient, conditions, ...); a variable not here is not known. */
  readonly data: Readonly<Partial<Record<(typeof DATA_VARIABLES)[number], readonly Resource[]>>>;
  /** All draft orders of the call. */
  readonly draftOrders: readonly Resource[];
  /** The orders to judge: all draft orders on order-sign, the selected ones on order-select, none on patient-view. */
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

function uniqueEvidence(items: readonly EvidenceItem[]): EvidenceItem[] {
  const seen = new Set<string>();
  return items.filter((e) => (seen.has(e.reference) ? false : (seen.add(e.reference), true)));
}

/** One request's evaluation state: variables, memo per scope, errors. */
class Run {
  private readonly base: Record<string, unknown>;
  private readonly patientMemo = new Map<string, CriterionResult>();
  private readonly orderMemo = new Map<Resource, Map<string, CriterionResult>>();
  private readonly holdsMemo = new Map<Resource | undefined, Map<string, boolean>>();
  private readonly scopes = new Map<Resource | undefined, Record<string, unknown>>();
  private readonly unavailable: ReadonlySet<string>;
  readonly errors: { expression: string; order?: string; message: string }[] = [];

  constructor(
    private readonly pack: RulePack,
    ctx: EvaluationContext
  ) {
    this.unavailable = new Set(DATA_VARIABLES.filter((v) => ctx.data[v] === undefined));
    this.base = {
      ...Object.fromEntries(DATA_VARIABLES.map((v) => [v, ctx.data[v] ?? []])),
      draftOrders: ctx.draftOrders,
      ...evaluationTime(ctx.now),
      thresholds: Object.fromEntries([...pack.thresholds.values()].map((t) => [t.id, t.value])),
    };
  }

  private memoFor(criterion: Criterion, order: Resource | undefined): Map<string, CriterionResult> {
    if (!criterion.perOrder || !order) return this.patientMemo;
    let memo = this.orderMemo.get(order);
    if (!memo) this.orderMemo.set(order, (memo = new Map<string, CriterionResult>()));
    return memo;
  }

  /** The context and %order, one object per order (expressions only read it). */
  private scopeVars(order: Resource | undefined): Record<string, unknown> {
    let vars = this.scopes.get(order);
    if (!vars) this.scopes.set(order, (vars = { ...this.base, order: order ? [order] : [] }));
    return vars;
  }

  /**
   * Variables for an expression: the context, %order, and the values of the criteria it reads. The criteria sit on
   * an object whose prototype is the scope's variables, so nothing is copied per call (both engines look variables
   * up with `in` and property reads).
   */
  private varsFor(dependsOn: readonly string[], order: Resource | undefined): Record<string, unknown> {
    const scope = this.scopeVars(order);
    if (dependsOn.length === 0) return scope;
    const vars = Object.create(scope) as Record<string, unknown>;
    for (const dep of dependsOn) {
      const r = this.result(dep, order);
      vars[dep] = r.value ?? (r.truth === 'unknown' ? [] : [r.truth]);
    }
    return vars;
  }

  private run(e: CompiledExpression, vars: Record<string, unknown>, order: Resource | undefined): unknown[] | Error {
    try {
      return e.fn({}, vars);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.errors.push({ expression: e.text, ...(order ? { order: referenceOf(order) } : {}), message });
      return new Error(message);
    }
  }

  /**
   * The result of a criterion, computed once per scope.
   * @param name - criterion name.
   * @param order - the order judged, for criteria that read %order.
   * @returns the result.
   */
  result(name: string, order?: Resource): CriterionResult {
    const c = this.pack.criteria.get(name) as Criterion;
    const memo = this.memoFor(c, order);
    const known = memo.get(name);
    if (known) return known;
    const vars = this.varsFor(c.dependsOn, order);
    const evidenceRaw = c.evidence ? this.run(c.evidence, vars, order) : [];
    const raw = c.expression ? this.run(c.expression, vars, order) : evidenceRaw instanceof Error ? evidenceRaw : [evidenceRaw.length > 0];
    const failed = raw instanceof Error ? raw : evidenceRaw instanceof Error ? evidenceRaw : undefined;
    const own = evidenceRaw instanceof Error ? [] : evidenceRaw.filter(isResource).map((resource) => ({ reference: referenceOf(resource), resource }));
    let truth: Truth = raw instanceof Error ? 'unknown' : c.kind === 'value' ? (raw.length > 0 ? true : 'unknown') : truthOf(raw);
    // Over data the call could not provide, only resources found are a definite answer; "no", "none" and any
    // computed value are not known.
    if (c.reads.some((v) => this.unavailable.has(v)) && !(truth === true && own.length > 0)) truth = 'unknown';
    // A criterion without evidence of its own borrows the evidence of the criteria that made it true.
    const borrowed = c.evidence ? [] : c.dependsOn.flatMap((d) => (this.result(d, order).truth === true ? this.result(d, order).evidence : []));
    const result: CriterionResult = {
      name,
      description: c.description,
      truth,
      ...(c.kind === 'value' && !(raw instanceof Error) ? { value: raw } : {}),
      evidence: truth === true ? uniqueEvidence([...own, ...borrowed]) : [],
      ...(failed ? { error: failed.message } : {}),
    };
    memo.set(name, result);
    return result;
  }

  /**
   * Whether an expression (a rule's `orders` or `when`) is exactly true; computed once per expression text and
   * order, since many rules share the same filter. A bare criterion reference reads the criterion's memo directly.
   */
  holds(e: CompiledExpression, order: Resource | undefined): boolean {
    let memo = this.holdsMemo.get(order);
    if (!memo) this.holdsMemo.set(order, (memo = new Map<string, boolean>()));
    const known = memo.get(e.text);
    if (known !== undefined) return known;
    const bare = /^\s*%([A-Za-z]\w*)\s*$/.exec(e.text)?.[1];
    let value: boolean;
    if (bare !== undefined && this.pack.criteria.get(bare)?.kind === 'boolean') value = this.result(bare, order).truth === true;
    else {
      const dependsOn = [...e.variables].filter((v) => this.pack.criteria.has(v));
      const raw = this.run(e, this.varsFor(dependsOn, order), order);
      value = !(raw instanceof Error) && raw.length === 1 && raw[0] === true;
    }
    memo.set(e.text, value);
    return value;
  }

  finding(rule: Rule, order: Resource | undefined): Finding {
    const names = [...new Set([...rule.criteria, ...rule.cardCriteria])];
    const results = new Map(names.map((n) => [n, this.result(n, order)]));
    // What made the rule fire, and whatever else true the card cites.
    const evidence = uniqueEvidence(names.flatMap((n) => (results.get(n)?.truth === true ? (results.get(n)?.evidence ?? []) : [])));
    return { packId: this.pack.id, packVersion: this.pack.version, rule, ...(order ? { order } : {}), results, evidence };
  }

  /** The criteria evaluated so far for the patient, or for one order. */
  evaluated(order: Resource | undefined): CriterionResult[] {
    return [...((order ? this.orderMemo.get(order) : this.patientMemo)?.values() ?? [])];
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
  const run = new Run(pack, ctx);
  const findings: Finding[] = [];
  const concerned = new Set<Resource>();
  for (const rule of pack.rules) {
    if (!rule.hooks.includes(ctx.hook)) continue;
    if (rule.scope === 'patient') {
      if (run.holds(rule.when, undefined)) findings.push(run.finding(rule, undefined));
      continue;
    }
    for (const order of ctx.ordersToJudge) {
      if (!rule.orders || !run.holds(rule.orders, order)) continue;
      if (rule.coverage) concerned.add(order);
      if (run.holds(rule.when, order)) findings.push(run.finding(rule, order));
    }
  }
  for (const name of options.extraOrderCriteria ?? []) {
    if (pack.criteria.get(name)?.perOrder) for (const order of concerned) run.result(name, order);
  }
  if (options.allCriteria) {
    for (const c of pack.criteria.values()) {
      if (!c.perOrder) run.result(c.name);
      else for (const order of ctx.ordersToJudge) run.result(c.name, order);
    }
  }
  const criteria = [{ results: run.evaluated(undefined) }, ...ctx.ordersToJudge.map((order) => ({ order, results: run.evaluated(order) }))];
  return { findings, concerned: ctx.ordersToJudge.filter((o) => concerned.has(o)), criteria, errors: run.errors };
}
