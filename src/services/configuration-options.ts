/**
 * Da Vinci CRD configuration options (CRD STU 2.0.1, "Configuration options"; logical models
 * CDSHookServicesExtensionConfiguration and CDSHookServiceRequestExtensionRequestConfig): discovery lists one
 * boolean option per card type a service can return, named by the type's code; a hook call may set any of them in
 * `extension["davinci-crd.configuration"]`, and `false` switches that type's cards off for the call. No option is
 * required; an option the service does not offer is ignored.
 */
import { CARD_TYPES, SERVICE_CARD_TYPE } from '../cards/card-types.js';
import type { RulePack } from '../engine/pack-types.js';
import type { HookName } from '../hooks/types.js';

/** The discovery extension that lists a service's options. */
export const OPTIONS_EXTENSION = 'davinci-crd.configuration-options';

/** The hook-request extension that sets them. */
export const CONFIGURATION_EXTENSION = 'davinci-crd.configuration';

/** One option as discovery lists it. */
export interface ConfigurationOption {
  readonly code: string;
  readonly type: 'boolean';
  readonly name: string;
  readonly description: string;
  readonly default: boolean;
}

/**
 * The options of a service: one per card type its hook can return, from the packs' rules and the service's own
 * cards, in the value set's order. Every card type is on unless the call switches it off.
 * @param hook - the service's hook.
 * @param packs - the compiled packs.
 * @returns the options.
 */
export function configurationOptionsFor(hook: HookName, packs: readonly RulePack[]): ConfigurationOption[] {
  const types = new Set([SERVICE_CARD_TYPE]);
  for (const pack of packs) for (const rule of pack.rules) if (rule.card && rule.hooks.includes(hook)) types.add(rule.card.topic);
  return [...CARD_TYPES].filter(([code]) => types.has(code)).map(([code, t]) => ({ code, type: 'boolean', name: t.name, description: t.description, default: true }));
}
