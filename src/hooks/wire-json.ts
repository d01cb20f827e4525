/**
 * CDS Hooks 2.0 JSON rule: elements SHALL NOT be null or empty; optional elements without a value are left out.
 * The only exception is the top-level `cards` array, which is `[]` when there is no guidance.
 */
import type { CdsResponse } from './types.js';

/** Largest summary length the spec allows ("<140 characters"). */
export const MAX_SUMMARY_LENGTH = 139;

/**
 * The value without null, empty strings, empty arrays and empty objects at any depth; undefined when nothing is left.
 * Arrays and objects are copied only when something in them is removed: a composed response rarely has empties, and
 * copying all of it was most of this function's cost.
 */
function prune(value: unknown): unknown {
  if (value === null || value === undefined || value === '') return undefined;
  if (Array.isArray(value)) return pruneArray(value as unknown[]);
  if (typeof value === 'object') return pruneObject(value as Record<string, unknown>);
  return value;
}

function pruneArray(items: readonly unknown[]): readonly unknown[] | undefined {
  let copy: unknown[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const kept = prune(item);
    if (copy === undefined && (kept === undefined || kept !== item)) copy = items.slice(0, i);
    if (copy !== undefined && kept !== undefined) copy.push(kept);
  }
  const out = copy ?? items;
  return out.length > 0 ? out : undefined;
}

function pruneObject(object: Record<string, unknown>): Record<string, unknown> | undefined {
  let copy: Record<string, unknown> | undefined;
  let size = 0;
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    const item = object[key];
    const kept = prune(item);
    if (copy === undefined && (kept === undefined || kept !== item)) {
      // The keys before this one were all kept as they are.
      copy = {};
      for (const earlier in object) {
        if (earlier === key) break;
        if (Object.hasOwn(object, earlier)) copy[earlier] = object[earlier];
      }
    }
    if (kept === undefined) continue;
    size += 1;
    if (copy !== undefined) copy[key] = kept;
  }
  return size > 0 ? (copy ?? object) : undefined;
}

/** Whitespace that fitting changes: a run, any but a plain space, or at either end. */
const UNTIDY = /\s\s|[^\S ]|^\s|\s$/;

/**
 * A summary with its whitespace as the wire sends it: runs and line breaks made one space, none at either end.
 * @param summary - the summary text.
 * @returns the tidied text (the same string when already tidy).
 */
export function tidySummary(summary: string): string {
  return UNTIDY.test(summary) ? summary.replace(/\s+/g, ' ').trim() : summary;
}

/**
 * Shortens a summary to the spec's limit, on a word boundary where one is near, with an ellipsis.
 * @param summary - the summary text.
 * @returns the summary, at most 139 characters.
 */
export function fitSummary(summary: string): string {
  // Most summaries are already tidy (each card's is fitted when composed and again here): test before copying.
  const text = tidySummary(summary);
  if (text.length <= MAX_SUMMARY_LENGTH) return text;
  const cut = text.slice(0, MAX_SUMMARY_LENGTH - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > MAX_SUMMARY_LENGTH - 30 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/**
 * The response as sent on the wire: empties removed, summaries within the limit, `cards` always present.
 * @param response - the response as built.
 * @returns a plain JSON object.
 */
export function toWireResponse(response: CdsResponse): Record<string, unknown> {
  const cards = response.cards.map((card) => prune({ ...card, summary: fitSummary(card.summary) }));
  const systemActions = prune(response.systemActions);
  return { cards, ...(systemActions ? { systemActions } : {}) };
}
