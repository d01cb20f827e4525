/**
 * The catalogue's criteria: every criterion of a pack, a table per criteria file, each with what it means, what it
 * reads (criteria, linked to their own rows' sections, record data and thresholds) and the rules that use it,
 * directly or through other criteria, at any depth. A rule's section names only the criteria its expressions name;
 * from there a reader follows the links down to the record.
 */
import { appCriteria } from '../engine/app-view.js';
import type { Criterion, RulePack } from '../engine/pack-types.js';
import { criteriaRead, ruleCriteria } from '../engine/rule-packs.js';
import { markdownCell as cell } from './markdown-cell.js';

/**
 * The anchor GitHub gives a heading: lower case, without punctuation other than hyphens and underscores, spaces as
 * hyphens.
 * @param heading - the heading's text.
 * @returns the anchor, without `#`.
 */
export function headingAnchor(heading: string): string {
  return heading.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

/** The heading of a criteria file's section. */
const fileHeading = (file: string): string => `Criteria in ${file}`;

/**
 * A file of a pack relative to its folder, as a reader finds it.
 * @param file - the file's path.
 * @param packDir - the pack's folder.
 * @returns the relative path (the path as given when it is elsewhere).
 */
export function packRelative(file: string, packDir: string): string {
  return file.startsWith(`${packDir}/`) ? file.slice(packDir.length + 1) : file;
}

/**
 * A criterion's name as code, linked to the section that describes it.
 * @param pack - the pack.
 * @param name - the criterion.
 * @returns Markdown.
 */
export function criterionLink(pack: RulePack, name: string): string {
  const criterion = pack.criteria.get(name);
  return criterion ? `[\`%${name}\`](#${headingAnchor(fileHeading(packRelative(criterion.file, pack.dir)))})` : `\`%${name}\``;
}

function kindText(c: Criterion): string {
  const kind = c.kind === 'value' ? 'value' : 'yes / no';
  return c.forOrder ? `${kind}, for another order` : c.perOrder ? `${kind}, per order` : `${kind}, for the patient`;
}

function readsText(pack: RulePack, c: Criterion): string {
  return [
    c.dependsOn.map((d) => criterionLink(pack, d)).join(', '),
    c.reads.length > 0 ? `data: ${c.reads.join(', ')}` : '',
    c.thresholds.length > 0 ? `thresholds: ${c.thresholds.join(', ')}` : '',
  ].filter(Boolean).join('; ');
}

/**
 * The pack's criteria, a section per file in the pack's order.
 * @param pack - the loaded pack.
 * @returns Markdown.
 */
export function criteriaSection(pack: RulePack): string {
  const users = new Map<string, string[]>();
  const use = (name: string, by: string): void => {
    users.set(name, [...(users.get(name) ?? []), by]);
  };
  for (const rule of [...pack.rules].sort((a, b) => a.id.localeCompare(b.id))) for (const name of criteriaRead(pack, ruleCriteria(rule))) use(name, rule.id);
  for (const name of criteriaRead(pack, pack.app ? appCriteria(pack.app) : [])) use(name, 'the SMART app');
  const byFile = new Map<string, Criterion[]>();
  for (const c of pack.criteria.values()) {
    const file = packRelative(c.file, pack.dir);
    byFile.set(file, [...(byFile.get(file) ?? []), c]);
  }
  const sections = [...byFile].map(([file, criteria]) => {
    const rows = criteria.map((c) => `| \`%${c.name}\` | ${kindText(c)} | ${cell(c.description)} | ${readsText(pack, c)} | ${(users.get(c.name) ?? []).join(', ')} |`);
    return `### ${fileHeading(file)}\n\n| Criterion | Kind | What it means | Reads | Used by, directly or through other criteria |\n|---|---|---|---|---|\n${rows.join('\n')}\n`;
  });
  return [`## Criteria\n\nEvery criterion, by the file that defines it: what it reads (criteria, linked; the record's data, directly or through value criteria; thresholds, through any criterion) and the rules that use it at any depth (in \`orders\`, \`when\`, or the placeholders of the card and the coverage conclusion).\n`, ...sections].join('\n');
}
