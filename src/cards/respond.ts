/**
 * The evaluator the hook pipeline calls: context from the request, every pack evaluated, findings composed into
 * cards. Pure apart from card uuids.
 */
import { contextFromInput } from '../engine/context.js';
import { evaluatePack } from '../engine/evaluate.js';
import type { Finding } from '../engine/evaluate.js';
import type { RulePack } from '../engine/pack-types.js';
import type { EvaluationInput, Evaluator } from '../hooks/handle-hook.js';
import type { Card } from '../hooks/types.js';
import { composeCard } from './compose.js';

/** Options of the evaluator. */
export interface EvaluatorOptions {
  readonly publicBaseUrl: string;
  readonly uuid?: () => string;
}

/**
 * Evaluates every pack for one hook call.
 * @param packs - the compiled packs.
 * @param input - the call.
 * @returns the findings of all packs.
 */
export function findingsFor(packs: readonly RulePack[], input: EvaluationInput): Finding[] {
  const ctx = contextFromInput(input);
  return packs.flatMap((p) => evaluatePack(p, ctx).findings);
}

/**
 * Builds the evaluator for the hook pipeline.
 * @param packs - the compiled packs.
 * @param options - public base URL and uuid source.
 * @returns the evaluator.
 */
export function createEvaluator(packs: readonly RulePack[], options: EvaluatorOptions): Evaluator {
  const byId = new Map(packs.map((p) => [p.id, p]));
  const compose = { packs: byId, publicBaseUrl: options.publicBaseUrl, ...(options.uuid ? { uuid: options.uuid } : {}) };
  return (input) => ({
    cards: findingsFor(packs, input)
      .map((f) => composeCard(f, compose))
      .filter((c): c is Card => c !== undefined),
  });
}
