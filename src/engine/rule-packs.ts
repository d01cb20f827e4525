/**
 * Loads every rule pack under `<rulesDir>/packs/` (a folder with a pack.yaml), compiled and checked, once at start-up.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DefinitionError } from '../services/service-definitions.js';
import { appCriteria, appPitfalls } from './app-view.js';
import { checkOverride, compilePack } from './compile-pack.js';
import { readPackFiles } from './load-pack.js';
import type { CompiledExpression, Rule, RulePack } from './pack-types.js';

/**
 * Reads deployment threshold overrides: a JSON object of threshold id -> number.
 * @param file - THRESHOLDS_FILE, or undefined.
 * @returns the overrides.
 * @throws DefinitionError when the file is not such an object.
 */
export function readThresholdOverrides(file: string | undefined): Record<string, number> {
  if (!file) return {};
  let content: unknown;
  try {
    content = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new DefinitionError(`${file}: cannot be read as JSON: ${(err as Error).message}`);
  }
  if (typeof content !== 'object' || content === null || Array.isArray(content) || !Object.values(content).every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new DefinitionError(`${file}: must be a JSON object of threshold id -> number`);
  }
  // Every threshold is a dose, a concentration, a count, a number of days or a percentage: a negative one would make
  // its card fire on every order (a ceiling) or never (a floor), a typo rather than a choice.
  const negative = Object.entries(content as Record<string, number>).find(([, v]) => v < 0);
  if (negative) throw new DefinitionError(`${file}: ${negative[0]} is ${String(negative[1])}; a threshold is never negative`);
  return content as Record<string, number>;
}

/**
 * Loads the packs of a rules folder.
 * @param packsDir - the folder holding one folder per pack (e.g. cds-hooks/packs).
 * @param schemaDir - the JSON Schemas (cds-hooks/schema).
 * @param thresholdOverrides - deployment values for thresholds, by id.
 * @returns the compiled packs, in folder-name order.
 * @throws DefinitionError naming the file, the rule and the expression; or the folder, when it holds no pack or a
 * folder that is not one.
 */
export function loadRulePacks(packsDir: string, schemaDir: string, thresholdOverrides: Readonly<Record<string, number>> = {}): RulePack[] {
  // A service without its rules would answer every call with no cards, which reads as "nothing to flag": whatever
  // leaves a pack unloaded (a mistyped RULES_DIR, a `pack.yml`) stops the start instead.
  if (!existsSync(packsDir)) throw new DefinitionError(`${packsDir}: no such folder (RULES_DIR must hold services.yaml, schema/ and packs/, one folder per rule pack)`);
  const names = readdirSync(packsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
  const unnamed = names.find((name) => !existsSync(join(packsDir, name, 'pack.yaml')));
  if (unnamed !== undefined) throw new DefinitionError(`${join(packsDir, unnamed)}: no pack.yaml (every folder in packs/ is a rule pack, described by its pack.yaml)`);
  if (names.length === 0) throw new DefinitionError(`${packsDir}: no rule pack in it (one folder per pack, each with its pack.yaml)`);
  const ruleIds = new Set<string>();
  const packs = names.map((name) => compilePack(readPackFiles(join(packsDir, name), schemaDir), thresholdOverrides, ruleIds));
  const known = new Set(packs.flatMap((p) => [...p.thresholds.keys()]));
  const stray = Object.keys(thresholdOverrides).filter((id) => !known.has(id));
  if (stray.length > 0) throw new DefinitionError(`threshold overrides name thresholds no pack defines: ${stray.join(', ')}`);
  const ids = new Set<string>();
  for (const p of packs) {
    if (ids.has(p.id)) throw new DefinitionError(`${p.dir}/pack.yaml: pack id ${p.id} is used by another pack`);
    ids.add(p.id);
  }
  return packs;
}

/**
 * Every expression of a pack, with where it is written.
 * @param pack - a compiled pack.
 * @returns `file: criterion` or `file: when`/`orders`, and the expression.
 */
export function expressionsOf(pack: RulePack): [string, CompiledExpression][] {
  const all: [string, CompiledExpression | undefined][] = [
    ...[...pack.criteria.values()].flatMap((c): [string, CompiledExpression | undefined][] => [
      [`${c.file}: ${c.name}`, c.expression],
      [`${c.file}: ${c.name} (evidence)`, c.evidence],
      [`${c.file}: ${c.name} (forOrder)`, c.forOrder],
    ]),
    ...pack.rules.flatMap((r): [string, CompiledExpression | undefined][] => [[`${r.file}: when`, r.when], [`${r.file}: orders`, r.orders]]),
  ];
  return all.filter((e): e is [string, CompiledExpression] => e[1] !== undefined);
}

/**
 * The pack with deployment values for some of its thresholds, as THRESHOLDS_FILE sets them at start (a rule case
 * uses it to run as a deployment would). The rules, criteria and compiled expressions are the pack's own: they read
 * thresholds when evaluated.
 * @param pack - a compiled pack.
 * @param values - threshold id -> number; every id must be one of the pack's, no value above its maximum.
 * @returns a copy of the pack holding those values.
 */
export function withThresholds(pack: RulePack, values: Readonly<Record<string, number>>): RulePack {
  const thresholds = new Map([...pack.thresholds].map(([id, t]) => {
    const value = values[id];
    if (value !== undefined) checkOverride(t, value);
    return [id, value === undefined ? t : { ...t, value, overridden: true }];
  }));
  return { ...pack, thresholds };
}

/**
 * The criteria nothing reads: no rule (its `when`, `orders`, card or coverage placeholders), no criterion that is
 * read, and not the SMART app's view. Dead content to remove or to give a rule; `npm run rules:check` names them.
 * @param pack - a compiled pack.
 * @returns their names, in the pack's order.
 */
export function unreadCriteria(pack: RulePack): string[] {
  const read = criteriaRead(pack, [...pack.rules.flatMap((r) => ruleCriteria(r)), ...(pack.app ? appCriteria(pack.app) : [])]);
  return [...pack.criteria.keys()].filter((name) => !read.has(name));
}

/**
 * The criteria a rule names itself: in `orders`, `when`, and the placeholders of its card and coverage conclusion.
 * @param rule - a compiled rule.
 * @returns their names (repeats possible).
 */
export function ruleCriteria(rule: Rule): string[] {
  return [...rule.criteria, ...rule.placeholderCriteria, ...(rule.orders ? [...rule.orders.variables] : [])];
}

/**
 * The criteria read from some names on: those of them that are criteria, and every criterion they read, through
 * any depth.
 * @param pack - a compiled pack.
 * @param roots - names an expression or a template reads.
 * @returns the criteria's names.
 */
export function criteriaRead(pack: RulePack, roots: readonly string[]): Set<string> {
  const read = new Set<string>();
  const visit = (name: string): void => {
    const criterion = pack.criteria.get(name);
    if (!criterion || read.has(name)) return;
    read.add(name);
    criterion.dependsOn.forEach(visit);
  };
  roots.forEach(visit);
  return read;
}

/**
 * The value sets nothing reads: named by none of the pack's expressions (`codedIn`, `inValueSet`), and included by
 * no value set that is. `npm run rules:check` names them beside the unread criteria.
 * @param pack - a compiled pack.
 * @returns their ids, sorted.
 */
export function unreadValueSets(pack: RulePack): string[] {
  const byUrl = new Map([...pack.valueSets.values()].map((vs) => [vs.url, vs]));
  const read = new Set<string>();
  const visit = (id: string): void => {
    const vs = pack.valueSets.get(id);
    if (!vs || read.has(id)) return;
    read.add(id);
    for (const url of vs.includesValueSets) {
      const included = byUrl.get(url);
      if (included) visit(included.id);
    }
  };
  for (const [, expression] of expressionsOf(pack)) expression.valueSets.forEach(visit);
  return [...pack.valueSets.keys()].filter((id) => !read.has(id)).sort();
}

/**
 * The thresholds nothing reads: no rule's decision or card, no `orders` expression, no criterion that is read
 * (a threshold read only by an unread criterion is named once that criterion is removed). A deployment's override of
 * one would change nothing; `npm run rules:check` names them.
 * @param pack - a compiled pack.
 * @returns their ids, in the pack's order.
 */
export function unreadThresholds(pack: RulePack): string[] {
  const unread = new Set(unreadCriteria(pack));
  const read = new Set([
    ...pack.rules.flatMap((r) => [...r.thresholds, ...(r.orders ? [...r.orders.thresholds] : [])]),
    ...[...pack.criteria.values()].filter((c) => !unread.has(c.name)).flatMap((c) => c.thresholds),
  ]);
  return [...pack.thresholds.keys()].filter((id) => !read.has(id));
}

/**
 * The sources nothing cites: no rule (its card or its coverage conclusion), no threshold and no pitfall of the app.
 * Cards, the app's coverage lines, pitfalls and threshold lines name only cited ones (the app's list of sources has
 * every source of the pack); `npm run rules:check` names the others.
 * @param pack - a compiled pack.
 * @returns their ids, in the pack's order.
 */
export function uncitedSources(pack: RulePack): string[] {
  const cited = new Set([
    ...pack.rules.flatMap((r) => [...(r.card?.sources ?? []), ...(r.coverage?.sources ?? [])]),
    ...[...pack.thresholds.values()].map((t) => t.source),
    ...(pack.app ? appPitfalls(pack.app).flatMap((p) => p.sources) : []),
  ]);
  return [...pack.sources.keys()].filter((id) => !cited.has(id));
}
