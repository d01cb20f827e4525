/**
 * The hook pipeline built from configuration: service definitions, rule packs (compiled and checked), evaluator.
 * The HTTP app and the command line share it, so `npm run evaluate` answers exactly as the endpoint would.
 */
import { join } from 'node:path';
import { createEvaluator } from './cards/respond.js';
import type { Config } from './config.js';
import type { RulePack } from './engine/pack-types.js';
import { loadRulePacks, readThresholdOverrides } from './engine/rule-packs.js';
import type { Evaluator, HookPipeline } from './hooks/handle-hook.js';
import type { Logger } from './log.js';
import { configurationOptionsFor } from './services/configuration-options.js';
import { loadServiceDefinitions } from './services/service-definitions.js';

/** A pipeline and the packs it evaluates. */
export interface LoadedPipeline {
  readonly pipeline: HookPipeline;
  readonly packs: readonly RulePack[];
}

/**
 * Loads services and packs and builds the pipeline.
 * @param config - the configuration.
 * @param evaluate - another evaluator (tests), instead of the rule packs'.
 * @returns the pipeline.
 * @throws DefinitionError naming the file when a service or rule definition cannot be used.
 */
export function loadPipeline(config: Config, evaluate?: Evaluator): LoadedPipeline {
  const services = loadServiceDefinitions(config.rulesDir);
  const packs = loadRulePacks(join(config.rulesDir, 'packs'), join(config.rulesDir, 'schema'), readThresholdOverrides(config.thresholdsFile));
  const offered = services.map((s) => ({ ...s, configurationOptions: configurationOptionsFor(s.hook, packs) }));
  return {
    packs,
    pipeline: {
      services: new Map(offered.map((s) => [s.id, s])),
      evaluate: evaluate ?? createEvaluator(packs, { publicBaseUrl: config.publicBaseUrl }),
      prefetchDeadlineMs: config.prefetchDeadlineMs,
      fhirCallTimeoutMs: config.fhirCallTimeoutMs,
    },
  };
}

/**
 * Says at start which thresholds this deployment set (THRESHOLDS_FILE), so the log shows what the cards compare
 * against; a warning when one replaces a number its source confirms (a label, a policy), which the cards citing
 * that source then show as this deployment's.
 * @param packs - the loaded packs.
 * @param log - where it is said.
 */
export function reportThresholdOverrides(packs: readonly RulePack[], log: Pick<Logger, 'info' | 'warn'>): void {
  const set = packs.flatMap((p) => [...p.thresholds.values()].filter((t) => t.overridden).map((t) => ({ pack: p.id, id: t.id, value: t.value, unit: t.unit, confidence: t.confidence })));
  if (set.length === 0) return;
  log.info({ thresholds: set }, 'thresholds set by this deployment (THRESHOLDS_FILE); the cards comparing against them say so');
  const confirmed = set.filter((t) => t.confidence === 'confirmed').map((t) => t.id);
  if (confirmed.length > 0) log.warn({ thresholds: confirmed }, 'THRESHOLDS_FILE replaces numbers their source confirms (a label, a policy)');
}
