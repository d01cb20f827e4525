/**
 * The rule catalogue's section on the SMART app (pack.yaml `app`): which criteria the app lists as the policy, the
 * new-start criteria and the documentation checklist, which dose lines it shows, and the pitfalls it puts before a
 * reviewer, for the pack's default view and each variant (a spasticity pump). The pitfalls are clinical statements
 * shown to payers' reviewers, so a governance committee reviews them as it reviews the cards.
 */
import type { AppVariant, AppView, RulePack } from '../engine/pack-types.js';
import { markdownCell } from './markdown-cell.js';
import { citedSources } from './source-names.js';

/** The lists of one view: the default's, or a variant's over them (a list a variant leaves out is the default's). */
type Lists = Pick<AppView, 'policyCriteria' | 'newStartCriteria' | 'documentation' | 'pitfalls'>;

function criteriaCell(pack: RulePack, names: readonly string[] | undefined): string {
  if (!names || names.length === 0) return '(none)';
  return names.map((n) => `\`%${n}\`: ${markdownCell(pack.criteria.get(n)?.description ?? '(not a criterion of the pack)')}`).join('<br>');
}

function listsTable(pack: RulePack, lists: Lists, doseLines: readonly string[] | undefined): string {
  const rows: [string, string][] = [
    ['Coverage criteria (established therapy)', criteriaCell(pack, lists.policyCriteria)],
    ['New-start criteria', criteriaCell(pack, lists.newStartCriteria)],
    ['Documentation checklist', criteriaCell(pack, lists.documentation)],
  ];
  if (doseLines) rows.push(['Dose math', criteriaCell(pack, doseLines)]);
  rows.push(['Pitfalls shown to a reviewer', lists.pitfalls.map((p) => `- ${markdownCell(p.text)} *Sources: ${citedSources(pack, p.sources)}.*`).join('<br>') || '(none)']);
  return `| | |\n|---|---|\n${rows.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}\n`;
}

function variantLists(app: AppView, v: AppVariant): Lists {
  return {
    policyCriteria: v.policyCriteria ?? app.policyCriteria,
    newStartCriteria: v.newStartCriteria ?? app.newStartCriteria ?? [],
    documentation: v.documentation ?? app.documentation,
    pitfalls: v.pitfalls ?? app.pitfalls,
  };
}

/**
 * The SMART app section of a pack's catalogue.
 * @param pack - the loaded pack.
 * @returns Markdown, or an empty string when the pack gives the app nothing.
 */
export function appSection(pack: RulePack): string {
  const { app } = pack;
  if (!app) return '';
  const doseWhen = app.doseWhen ? ` (for orders where \`%${app.doseWhen}\`)` : '';
  const parts = [
    `## What the SMART app shows\n\nThe app launched from a card lists these criteria with what the record shows for each, the dose math${doseWhen}, and these pitfalls; its draft medical-necessity summary is built from the same lists. A variant replaces the lists it names when its criteria choose it; the dose math is the same in every view.\n`,
    `### Default\n\n${listsTable(pack, app, app.doseLines)}`,
    ...(app.variants ?? []).map(
      (v) =>
        `### Variant: ${v.name}\n\nChosen when every order judged meets one of ${v.when.map((w) => `\`%${w}\``).join(', ')} (launched from the chart with no order: when one of those about the patient is met).\n\n${listsTable(pack, variantLists(app, v), undefined)}`
    ),
  ];
  return parts.join('\n');
}
