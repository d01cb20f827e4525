/**
 * How the rule catalogue names a pack's sources: by title, linked when the source has a url, and, where a list of
 * them is cited (a rule's sources, a pitfall's), each with its confidence.
 */
import type { RulePack } from '../engine/pack-types.js';

/**
 * A source as the catalogue names it.
 * @param pack - the pack.
 * @param id - the source's id.
 * @returns its title, as a Markdown link when it has a url; the id when the pack has no such source.
 */
export function sourceName(pack: RulePack, id: string): string {
  const source = pack.sources.get(id);
  if (!source) return id;
  return source.url ? `[${source.title}](${source.url})` : source.title;
}

/**
 * The sources something cites, each named with its confidence: "title (confirmed); ...".
 * @param pack - the pack.
 * @param ids - the source ids.
 * @returns the list as text.
 */
export function citedSources(pack: RulePack, ids: readonly string[]): string {
  return ids.map((id) => `${sourceName(pack, id)} (${pack.sources.get(id)?.confidence ?? 'not in the pack'})`).join('; ');
}
