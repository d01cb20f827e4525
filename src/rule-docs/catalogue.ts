/**
 * The rule catalogue: every rule of a pack as a clinical governance committee reviews it (what it applies to, when
 * it fires, what it says, the coverage conclusion it gives, the thresholds and sources it rests on and how far each
 * is confirmed, how many test cases hold it), its criteria and what uses them (criteria-section.ts), what the SMART
 * app lists (app-section.ts), then the pack's thresholds and sources with the rules that use them.
 * Markdown, written from the loaded pack by `npm run rules:catalogue` into docs/rule-catalogue.md; a test keeps that
 * file what the rules say.
 */
import { readFileSync } from 'node:fs';
import type { Confidence, Rule, RulePack, Source, Threshold } from '../engine/pack-types.js';
import { appPitfalls } from '../engine/app-view.js';
import { loadRulePacks } from '../engine/rule-packs.js';
import { readCases } from '../rule-cases/run-cases.js';
import { appSection } from './app-section.js';
import { criteriaSection, criterionLink, headingAnchor, packRelative } from './criteria-section.js';
import { markdownCell as cell } from './markdown-cell.js';
import { citedSources, sourceName } from './source-names.js';

/** How the reference tags a fact, and what the catalogue says of it. */
const CONFIDENCE: Readonly<Record<Confidence, string>> = {
  confirmed: '[C] confirmed in the source',
  secondary: '[S] secondary source',
  unconfirmed: '[U] unconfirmed: verify before relying on it',
};

/** An expression or a template as code, in a table cell (a backtick inside widens the fence). */
function code(text: string): string {
  const flat = cell(text);
  const [fence, pad] = flat.includes('`') ? ['``', ' '] : ['`', ''];
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** The source ids a rule cites: its card's, then its coverage conclusion's. */
function citedBy(rule: Rule): string[] {
  return [...new Set([...(rule.card?.sources ?? []), ...(rule.coverage?.sources ?? [])])];
}

function thresholdText(t: Threshold): string {
  const set = t.confidence === 'confirmed' ? 'from its source (an override is warned about)' : 'configurable (THRESHOLDS_FILE)';
  return `${t.id} = ${String(t.value)} ${t.unit}, ${t.confidence}, ${set}`;
}

function coverageText(rule: Rule): string | undefined {
  const c = rule.coverage;
  if (!c) return undefined;
  const parts = [
    c.covered && `covered: ${c.covered}`,
    c.paNeeded && `prior authorization: ${c.paNeeded}`,
    c.docNeeded && `documentation: ${c.docNeeded.join(', ')}`,
    c.infoNeeded && `information needed: ${c.infoNeeded.join(', ')}`,
  ].filter((p): p is string => typeof p === 'string');
  return `${parts.join('; ')}. Reason: "${cell(c.reason)}"`;
}

function ruleSection(pack: RulePack, rule: Rule, cases: number, packDir: string): string {
  const rows: [string, string][] = [
    ['Hooks', rule.hooks.join(', ')],
    ['Applies to', rule.scope === 'patient' ? 'the patient' : rule.orders ? `each order where ${code(rule.orders.text)}` : 'each order'],
    ['Fires when', code(rule.when.text)],
  ];
  // The criteria those two expressions name, each with what it means: the expressions alone are names.
  const named = [...new Set([...(rule.orders?.variables ?? []), ...rule.when.variables])].filter((n) => pack.criteria.has(n));
  if (named.length > 0) rows.push(['Criteria', named.map((n) => `${criterionLink(pack, n)}: ${cell(pack.criteria.get(n)?.description ?? '')}`).join('<br>')]);
  if (rule.card) {
    const kind = rule.card.externalReference ? ', external reference' : '';
    rows.push(['Card', `${rule.card.indicator}, CRD type ${rule.card.topic}${kind}: ${code(rule.card.summary)}`]);
    // What accepting the card would change in the EHR's record: governance reviews it as it reviews the text.
    const suggests = (rule.card.suggestions ?? []).map((s) => `${code(s.label)}${s.isRecommended ? ' (recommended)' : ''}: ${(s.actions ?? []).map((a) => `${a.type} (${cell(a.description)})`).join(', ') || 'no action'}`);
    if (suggests.length > 0) rows.push(['Suggests', suggests.join('<br>')]);
  }
  const coverage = coverageText(rule);
  if (coverage) rows.push(['Coverage information', coverage]);
  const thresholds = rule.thresholds.flatMap((id) => {
    const t = pack.thresholds.get(id);
    return t ? [thresholdText(t)] : [];
  });
  if (thresholds.length > 0) rows.push(['Thresholds', cell(thresholds.join('; '))]);
  rows.push(['Sources', citedSources(pack, citedBy(rule))]);
  rows.push(['Test cases', `${String(cases)}, in ${packRelative(rule.testsFile, packDir)}`]);
  const table = rows.map(([k, v]) => `| ${k} | ${v} |`).join('\n');
  return `### ${rule.id} ${rule.version}: ${rule.title}\n\n${rule.description ? `${rule.description.trim()}\n\n` : ''}| | |\n|---|---|\n${table}\n`;
}

function thresholdsSection(pack: RulePack): string {
  const users = (id: string): string => pack.rules.filter((r) => r.thresholds.includes(id)).map((r) => r.id).join(', ') || 'none';
  const rows = [...pack.thresholds.values()].map((t) =>
    `| ${t.id} | ${String(t.value)} ${t.unit}${t.maximum !== undefined ? ` (at most ${String(t.maximum)})` : ''} | ${cell(t.description)} | ${sourceName(pack, t.source)} | ${CONFIDENCE[t.confidence]} | ${users(t.id)} |`
  );
  return `## Thresholds\n\nEvery threshold can be set by a deployment (THRESHOLDS_FILE); one confirmed by its source is warned about when it is.\n\n| Threshold | Value | What it is | Source | Confidence | Rules |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n`;
}

function sourcesSection(pack: RulePack): string {
  const rules = (id: string): string => pack.rules.filter((r) => citedBy(r).includes(id)).map((r) => r.id).join(', ');
  const thresholds = (id: string): string => [...pack.thresholds.values()].filter((t) => t.source === id).map((t) => t.id).join(', ');
  const pitfalls = pack.app ? appPitfalls(pack.app) : [];
  const app = (id: string): string => (pitfalls.some((p) => p.sources.includes(id)) ? 'pitfalls of the SMART app' : '');
  const row = (s: Source): string => {
    const by = [rules(s.id), thresholds(s.id) && `thresholds ${thresholds(s.id)}`, app(s.id)].filter(Boolean).join('; ') || 'nothing';
    return `| ${s.id} | ${sourceName(pack, s.id)}${s.date ? ` (${s.date})` : ''} | ${cell(s.note ?? '')} | ${CONFIDENCE[s.confidence]} | ${cell(by)} |`;
  };
  return `## Sources\n\n| Id | Source | What the pack takes from it | Confidence | Cited by |\n|---|---|---|---|---|\n${[...pack.sources.values()].map(row).join('\n')}\n`;
}

/**
 * The catalogue of one pack.
 * @param pack - the loaded pack (its own thresholds, not a deployment's).
 * @param casesPerRule - the number of test cases beside each rule, by rule id.
 * @returns Markdown.
 */
export function packCatalogue(pack: RulePack, casesPerRule: ReadonlyMap<string, number>): string {
  const rules = [...pack.rules].sort((a, b) => a.id.localeCompare(b.id));
  const index = rules.map((r) => `| [${r.id}](#${anchor(r)}) | ${r.version} | ${cell(r.title)} | ${r.hooks.join(', ')} | ${r.card ? r.card.indicator : 'coverage only'} |`);
  return [
    `## Pack ${pack.id} ${pack.version}: ${pack.title}\n\n${pack.description.trim()}\n\nIn ${pack.dir}: ${String(rules.length)} rules, ${String(pack.criteria.size)} criteria, ${String(pack.valueSets.size)} value sets, ${String(pack.thresholds.size)} thresholds, ${String(pack.sources.size)} sources.\n`,
    `| Rule | Version | Title | Hooks | Card |\n|---|---|---|---|---|\n${index.join('\n')}\n`,
    ...rules.map((r) => ruleSection(pack, r, casesPerRule.get(r.id) ?? 0, pack.dir)),
    criteriaSection(pack),
    appSection(pack),
    thresholdsSection(pack),
    sourcesSection(pack),
  ].join('\n');
}

/** The heading anchor GitHub gives a rule's section (`### id version: title`). */
function anchor(rule: Rule): string {
  return headingAnchor(`${rule.id} ${rule.version}: ${rule.title}`);
}

/**
 * The whole catalogue: a heading saying how it is made, then each pack.
 * @param packs - the packs with their cases per rule.
 * @returns Markdown.
 */
export function ruleCatalogue(packs: readonly { pack: RulePack; casesPerRule: ReadonlyMap<string, number> }[]): string {
  const head = `# Rule catalogue\n\nWhat each rule applies to, when it fires, what it says, and the thresholds and sources it rests on, with how far each\nis confirmed ([C] confirmed in the source, [S] secondary, [U] unconfirmed). Written by \`npm run rules:catalogue\`\nfrom the rule packs; do not edit by hand (a test fails when it no longer says what the rules say).\n`;
  return `${[head, ...packs.map((p) => packCatalogue(p.pack, p.casesPerRule))].join('\n')}`;
}

/**
 * The catalogue of the packs in a folder, as they are on disk (without a deployment's THRESHOLDS_FILE).
 * @param packsDir - the packs folder (cds-hooks/packs).
 * @param schemaDir - cds-hooks/schema.
 * @returns Markdown.
 */
export function catalogueOf(packsDir: string, schemaDir: string): string {
  return ruleCatalogue(loadRulePacks(packsDir, schemaDir).map((pack) => ({ pack, casesPerRule: new Map(pack.rules.map((r) => [r.id, readCases(r, schemaDir)?.length ?? 0])) })));
}

/**
 * Whether a catalogue file says what the packs say.
 * @param file - the file (docs/rule-catalogue.md); a missing one is not current.
 * @param packsDir - the packs folder.
 * @param schemaDir - cds-hooks/schema.
 * @returns true when it is what `catalogueOf` writes.
 */
export function catalogueIsCurrent(file: string, packsDir: string, schemaDir: string): boolean {
  let written: string | undefined;
  try {
    written = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  return written === catalogueOf(packsDir, schemaDir);
}
