/**
 * The evaluator the hook pipeline calls: context from the request, every pack evaluated, findings composed into
 * cards, and on order-sign the Da Vinci CRD coverage-information system actions. Pure apart from ids.
 */
import { randomUUID } from 'node:crypto';
import type { Coding, Coverage } from '@medplum/fhirtypes';
import { contextFromInput } from '../engine/context.js';
import { evaluatePack } from '../engine/evaluate.js';
import type { Evaluation } from '../engine/evaluate.js';
import type { RulePack } from '../engine/pack-types.js';
import type { EvaluationInput, Evaluator } from '../hooks/handle-hook.js';
import type { Card } from '../hooks/types.js';
import { composeCard } from './compose.js';
import { coverageInformationActions } from './coverage-information.js';

/** Options of the evaluator. */
export interface EvaluatorOptions {
  readonly publicBaseUrl: string;
  readonly uuid?: () => string;
}

/** A pack's value criterion that names an order's billing code, used for the coverage-information billingCode. */
export const BILLING_CODE_CRITERION = 'orderBillingCode';

/** Cards most urgent first; equal ones keep the packs' rule order. */
const SEVERITY = { critical: 0, warning: 1, info: 2 } as const;

/** Hooks whose responses carry coverage-information (CRD primary hooks this service answers). */
const COVERAGE_HOOKS = new Set(['order-sign']);

/**
 * Evaluates every pack for one hook call.
 * @param packs - the compiled packs.
 * @param input - the call.
 * @returns each pack's evaluation.
 */
export function evaluateAll(packs: readonly RulePack[], input: EvaluationInput): { pack: RulePack; evaluation: Evaluation }[] {
  const ctx = contextFromInput(input);
  return packs.map((pack) => ({ pack, evaluation: evaluatePack(pack, ctx, { extraOrderCriteria: [BILLING_CODE_CRITERION] }) }));
}

/**
 * Builds the evaluator for the hook pipeline.
 * @param packs - the compiled packs.
 * @param options - public base URL and id source.
 * @returns the evaluator.
 */
export function createEvaluator(packs: readonly RulePack[], options: EvaluatorOptions): Evaluator {
  const byId = new Map(packs.map((p) => [p.id, p]));
  const uuid = options.uuid ?? randomUUID;
  const compose = { packs: byId, publicBaseUrl: options.publicBaseUrl, uuid };
  return (input) => {
    const results = evaluateAll(packs, input);
    const cards = results
      .flatMap(({ evaluation }) => evaluation.findings.map((f) => composeCard(f, compose)).filter((c): c is Card => c !== undefined))
      .sort((a, b) => SEVERITY[a.indicator] - SEVERITY[b.indicator]);
    if (!COVERAGE_HOOKS.has(input.service.hook)) return { cards };
    const coverage = (input.data.resources['coverages'] ?? []).find((c): c is Coverage => c.resourceType === 'Coverage' && c.status === 'active');
    const date = input.now.toISOString().slice(0, 10);
    const systemActions = results.flatMap(({ evaluation }) =>
      coverageInformationActions(evaluation.concerned, evaluation.findings, {
        ...(coverage ? { coverage } : {}),
        date,
        uuid,
        billingCode: (order) => {
          const result = evaluation.criteria.find((c) => c.order === order)?.results.find((r) => r.name === BILLING_CODE_CRITERION);
          return result?.value?.[0] as Coding | undefined;
        },
      })
    );
    return systemActions.length > 0 ? { cards, systemActions } : { cards };
  };
}
