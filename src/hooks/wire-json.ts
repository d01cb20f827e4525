/**
 * CDS Hooks 2.0 JSON rule: elements SHALL NOT be null or empty; optional elements without a value are left out.
 * The only exception is the top-level `cards` array, which is `[]` when there is no guidance.
 */
import type { CdsResponse } from './types.js';

/** Largest summary length the spec allows ("<140 characters"). */
export const MAX_SUMMARY_LENGTH = 139;

/** The value without null, empty strings, empty arrays and empty objects at any depth; undefined when nothing is left. */
function prune(value: unknown): unknown {
  if (value === null || value === undefined || value === '') return undefined;
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const item of value as unknown[]) {
      const kept = prune(item);
      if (kept !== undefined) items.push(kept);
    }
    return items.length > 0 ? items : undefined;
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    let any = false;
    for (const key of Object.keys(value)) {
      const kept = prune((value as Record<string, unknown>)[key]);
      if (kept !== undefined) {
        out[key] = kept;
        any = true;
      }
    }
    return any ? out : undefined;
  }
  return value;
}

/** Whitespace that fitting changes: a run, any but a plain space, or at either end. */
const UNTIDY = /\s\s|[^\S ]|^\s|\s$/;

/**
 * Shortens a summary to the spec's limit, on a word boundary where one is near, with an ellipsis.
 * @param summary - the summary text.
 * @returns the summary, at most 139 characters.
 */
export function fitSummary(summary: string): string {
  // Most summaries are already tidy (each card's is fitted when composed and again here): test before copying.
  const text = UNTIDY.test(summary) ? summary.replace(/\s+/g, ' ').trim() : summary;
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
