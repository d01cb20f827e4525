/**
 * fhirpath.js as the oracle of the native FHIRPath engine: a copy of a pack whose every expression runs on both
 * engines, answers with fhirpath.js, and records where the native answer differs, where the native engine fell
 * back, and where it answered although fhirpath.js failed.
 */
import { isDeepStrictEqual } from 'node:util';
import type { CompiledFn } from '../../src/engine/expressions.js';
import { Fallback } from '../../src/engine/native/values.js';
import type { CompiledExpression, RulePack } from '../../src/engine/pack-types.js';

/** What the oracle saw. */
export interface OracleLog {
  /** Native answers that differ from fhirpath.js's. */
  readonly mismatches: { expression: string; native: unknown; reference: unknown }[];
  /** Native evaluations that handed over to fhirpath.js, with the reason. */
  readonly fallbacks: { expression: string; reason: string }[];
  /** Expressions evaluated natively (counted per call). */
  natives: number;
  /** Expressions the native compiler does not cover. */
  readonly gaps: Map<string, string>;
}

function checked(e: CompiledExpression, log: OracleLog): CompiledExpression {
  if (!e.native) {
    log.gaps.set(e.text, e.nativeGap ?? '');
    return e;
  }
  const native = e.native;
  const fn: CompiledFn = (root, vars) => {
    let reference: readonly unknown[] | undefined;
    let failure: unknown;
    try {
      reference = e.reference(root, vars);
    } catch (err) {
      failure = err;
    }
    try {
      const answer = native(root, vars);
      log.natives += 1;
      if (!isDeepStrictEqual(answer, reference)) log.mismatches.push({ expression: e.text, native: answer, reference: reference ?? `fhirpath.js failed: ${String(failure)}` });
    } catch (err) {
      if (err instanceof Fallback) log.fallbacks.push({ expression: e.text, reason: err.reason });
      else log.mismatches.push({ expression: e.text, native: `native engine failed: ${String(err)}`, reference });
    }
    if (reference === undefined) throw failure;
    return reference;
  };
  return { ...e, fn };
}

/**
 * A copy of a pack whose expressions are checked against fhirpath.js on every evaluation.
 * @param pack - the compiled pack.
 * @returns the checked copy and the log it writes.
 */
export function oraclePack(pack: RulePack): { pack: RulePack; log: OracleLog } {
  const log: OracleLog = { mismatches: [], fallbacks: [], natives: 0, gaps: new Map() };
  const maybe = (e: CompiledExpression | undefined): { expression?: CompiledExpression } => (e ? { expression: checked(e, log) } : {});
  const criteria = new Map(
    [...pack.criteria].map(([name, c]) => {
      const evidence = c.evidence ? { evidence: checked(c.evidence, log) } : {};
      return [name, { ...c, ...maybe(c.expression), ...evidence }];
    })
  );
  const rules = pack.rules.map((r) => ({ ...r, when: checked(r.when, log), ...(r.orders ? { orders: checked(r.orders, log) } : {}) }));
  return { pack: { ...pack, criteria, rules }, log };
}
