/**
 * What a reload of the rules changes, compared with the rules the service answers with: packs, rules, thresholds and
 * services added, removed or changed, and the changes it refuses (content changed under the same version: the cards
 * and the audit log name the rules that answered by version, so two contents under one version could not be told
 * apart afterwards). Pure.
 */
import { canonicalJson } from '../fhir/json.js';
import type { RulePack, Rule } from '../engine/pack-types.js';
import type { ServiceDefinition } from '../services/service-definitions.js';

/** The rules as loaded: the packs and the service definitions. */
export interface RulesState {
  readonly packs: readonly RulePack[];
  readonly services: readonly ServiceDefinition[];
}

/** What changed, one line each; `refused` holds the changes that stop the reload. */
export interface RulesChanges {
  readonly changes: readonly string[];
  readonly refused: readonly string[];
  /** Whether a threshold's value changed (the start's line about the deployment's thresholds is then said again). */
  readonly thresholdsChanged: boolean;
}

function byId<T extends { id: string }>(items: readonly T[]): Map<string, T> {
  return new Map(items.map((i) => [i.id, i]));
}

/** Added, removed and changed entries of two maps, in key order. */
function compareMaps<T>(before: ReadonlyMap<string, T>, after: ReadonlyMap<string, T>, describe: (id: string, old: T | undefined, now: T | undefined) => string | undefined): string[] {
  const ids = [...new Set([...before.keys(), ...after.keys()])].sort();
  return ids.flatMap((id) => {
    const line = describe(id, before.get(id), after.get(id));
    return line === undefined ? [] : [line];
  });
}

function packChanges(before: readonly RulePack[], after: readonly RulePack[], refused: string[]): string[] {
  return compareMaps(byId(before), byId(after), (id, old, now) => {
    if (!old) return `pack ${id} ${now?.version ?? ''} added`;
    if (!now) return `pack ${id} ${old.version} removed`;
    if (old.version !== now.version) return `pack ${id} ${old.version} -> ${now.version}`;
    if (old.digest !== now.digest) refused.push(`pack ${id} (${now.dir}: pack.yaml, criteria, value sets) changed but is still version ${now.version}; give it a new version`);
    return undefined;
  });
}

function ruleChanges(before: readonly RulePack[], after: readonly RulePack[], refused: string[]): string[] {
  const rules = (packs: readonly RulePack[]) => byId(packs.flatMap((p) => p.rules));
  return compareMaps<Rule>(rules(before), rules(after), (id, old, now) => {
    if (!old) return `rule ${id} ${now?.version ?? ''} added`;
    if (!now) return `rule ${id} ${old.version} removed`;
    if (old.version !== now.version) return `rule ${id} ${old.version} -> ${now.version}`;
    if (old.digest !== now.digest) refused.push(`rule ${id} (${now.file}) changed but is still version ${now.version}; give it a new version`);
    return undefined;
  });
}

function thresholdChanges(before: readonly RulePack[], after: readonly RulePack[]): string[] {
  const thresholds = (packs: readonly RulePack[]) => new Map(packs.flatMap((p) => [...p.thresholds.values()].map((t) => [t.id, t])));
  const shown = (t: { value: number; unit: string; overridden: boolean }) => `${String(t.value)} ${t.unit}${t.overridden ? ' (THRESHOLDS_FILE)' : ''}`;
  return compareMaps(thresholds(before), thresholds(after), (id, old, now) => {
    if (!old || !now) return undefined; // comes and goes with its pack's version
    return old.value !== now.value || old.overridden !== now.overridden ? `threshold ${id} ${shown(old)} -> ${shown(now)}` : undefined;
  });
}

function serviceChanges(before: readonly ServiceDefinition[], after: readonly ServiceDefinition[]): string[] {
  return compareMaps(byId(before), byId(after), (id, old, now) => {
    if (!old) return `service ${id} added`;
    if (!now) return `service ${id} removed`;
    return canonicalJson(old) === canonicalJson(now) ? undefined : `service ${id} changed`;
  });
}

/**
 * Compares the rules the service answers with and the rules just loaded.
 * @param before - the current rules.
 * @param after - the rules a reload would answer with.
 * @returns the changes, and the ones refused.
 */
export function rulesChanges(before: RulesState, after: RulesState): RulesChanges {
  const refused: string[] = [];
  const thresholds = thresholdChanges(before.packs, after.packs);
  const changes = [
    ...packChanges(before.packs, after.packs, refused),
    ...ruleChanges(before.packs, after.packs, refused),
    ...thresholds,
    ...serviceChanges(before.services, after.services),
  ];
  return { changes, refused, thresholdsChanged: thresholds.length > 0 };
}
