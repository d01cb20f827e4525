/**
 * What clinicians did with the cards, per rule, for the informaticists who maintain the rules: for the hook calls of
 * a period, how many cards each rule showed and on which hooks, how many were accepted, overridden (and for which reasons), and how
 * many got no feedback. Built from the audit log (each answer's cards, whose last line names the rule) and the
 * stored feedback (by card uuid). Counts only: a clinician's comment may hold patient details, so the report says
 * how many overrides came with one, not what they say.
 */
import { cardOrigin } from '../cards/rule-line.js';
import type { Card, FeedbackItem } from '../hooks/types.js';
import type { StoredInvocation } from '../store/audit-store.js';
import { markdownCell as cell } from '../rule-docs/markdown-cell.js';
import { NO_COVERAGE, payerOf } from './call-payer.js';

/** The cards of one rule (or the service's own cards) and what was done with them. */
export interface RuleFeedback {
  /** The rule id, or undefined for the service's own cards (data not available, and the like). */
  readonly rule: string | undefined;
  readonly versions: readonly string[];
  readonly cards: number;
  /** The hooks the cards were shown on (a refill signed, selected, dispatched), with how many on each; most first. */
  readonly hooks: readonly (readonly [string, number])[];
  readonly accepted: number;
  readonly overridden: number;
  /** Cards with no feedback item at all. */
  readonly withoutFeedback: number;
  /** Override reasons as `display (code)`, or `(none given)`, with how often each was given; most often first. */
  readonly reasons: readonly (readonly [string, number])[];
  /** Overrides that came with a comment. */
  readonly comments: number;
  /** By payer type of the call (call-payer.ts): cards shown and overridden; most cards first. */
  readonly payers: readonly (readonly [string, { readonly cards: number; readonly overridden: number }])[];
}

/** The whole report. */
export interface FeedbackReport {
  readonly calls: number;
  readonly cards: number;
  /** Rules by overrides, then by cards shown; the service's own cards last. */
  readonly rules: readonly RuleFeedback[];
  /** Feedback items whose card is in no call read (an earlier period's, or pruned from the log). */
  readonly unmatched: number;
}

interface Tally {
  readonly versions: Set<string>;
  cards: number;
  readonly hooks: Map<string, number>;
  accepted: number;
  overridden: number;
  /** Cards with at least one feedback item. */
  answered: number;
  readonly reasons: Map<string, number>;
  comments: number;
  readonly payers: Map<string, { cards: number; overridden: number }>;
}

const reasonText = (item: FeedbackItem): string => {
  const reason = item.overrideReason?.reason;
  if (!reason?.code) return '(none given)';
  return reason.display ? `${reason.display} (${reason.code})` : reason.code;
};

const count = (counts: Map<string, number>, key: string): void => {
  counts.set(key, (counts.get(key) ?? 0) + 1);
};

/** Counts as pairs, the largest first, then by name. */
const mostFirst = (counts: ReadonlyMap<string, number>): [string, number][] => [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));

/**
 * The cards a recorded call was answered with (none for a refusal, or a call with no answer recorded).
 * @param row - the call as the audit log holds it.
 * @returns its cards that carry a uuid (feedback names a card by it).
 */
export function answeredCards(row: StoredInvocation): Card[] {
  const cards = (row.response as { cards?: unknown } | null)?.cards;
  return Array.isArray(cards) ? (cards as Card[]).filter((c) => typeof c.uuid === 'string') : [];
}

/**
 * The uuids of the cards of some recorded calls: what to ask the feedback store about for one page of the log.
 * @param rows - the calls.
 * @returns the uuids.
 */
export function cardUuids(rows: readonly StoredInvocation[]): string[] {
  return rows.flatMap((row) => answeredCards(row).map((c) => c.uuid));
}

/**
 * Counts the log page by page, each page with the feedback on its cards, so that what is held is one page's cards
 * and the counts per rule, however long the period and however much feedback is stored.
 */
export class FeedbackTally {
  private readonly byRule = new Map<string, Tally>();
  private calls = 0;
  private cards = 0;
  private matched = 0;

  /**
   * Counts one page of recorded calls and the feedback on their cards; a refused call (no cards) counts as a call.
   * @param rows - the calls as the audit log holds them.
   * @param feedback - the feedback stored on their cards (an item on another card is not counted here).
   */
  addPage(rows: readonly StoredInvocation[], feedback: readonly FeedbackItem[]): void {
    const byCard = new Map<string, { tally: Tally; payer: string }>();
    for (const row of rows) {
      this.calls += 1;
      const cards = answeredCards(row);
      const payer = cards.length > 0 ? payerOf(row) : NO_COVERAGE;
      for (const card of cards) {
        const origin = cardOrigin(card.detail);
        const key = origin?.rule ?? '';
        let tally = this.byRule.get(key);
        if (!tally) this.byRule.set(key, (tally = { versions: new Set(), cards: 0, hooks: new Map(), accepted: 0, overridden: 0, answered: 0, reasons: new Map(), comments: 0, payers: new Map() }));
        if (origin) tally.versions.add(origin.version);
        tally.cards += 1;
        const byPayer = tally.payers.get(payer) ?? { cards: 0, overridden: 0 };
        byPayer.cards += 1;
        tally.payers.set(payer, byPayer);
        count(tally.hooks, row.hook ?? row.serviceId);
        this.cards += 1;
        byCard.set(card.uuid, { tally, payer });
      }
    }
    const answered = new Set<string>();
    for (const item of feedback) {
      const seen = byCard.get(item.card);
      if (!seen) continue;
      const { tally } = seen;
      this.matched += 1;
      if (!answered.has(item.card)) {
        answered.add(item.card);
        tally.answered += 1;
      }
      if (item.outcome === 'accepted') {
        tally.accepted += 1;
        continue;
      }
      tally.overridden += 1;
      const byPayer = tally.payers.get(seen.payer);
      if (byPayer) byPayer.overridden += 1;
      count(tally.reasons, reasonText(item));
      if (item.overrideReason?.userComment?.trim()) tally.comments += 1;
    }
  }

  /**
   * The report of the pages counted.
   * @param feedbackStored - how many feedback items the store holds in all: those not on a counted card are reported
   *   as on cards outside the period.
   * @returns the report.
   */
  report(feedbackStored: number): FeedbackReport {
    const unmatched = Math.max(0, feedbackStored - this.matched);
    const rules = [...this.byRule].map(([rule, t]): RuleFeedback => ({
      rule: rule === '' ? undefined : rule,
      versions: [...t.versions].sort(),
      cards: t.cards,
      hooks: mostFirst(t.hooks),
      accepted: t.accepted,
      overridden: t.overridden,
      withoutFeedback: t.cards - t.answered,
      reasons: mostFirst(t.reasons),
      comments: t.comments,
      payers: [...t.payers].sort((a, b) => b[1].cards - a[1].cards || a[0].localeCompare(b[0])).map(([payer, n]) => [payer, { ...n }] as const),
    }));
    rules.sort((a, b) => Number(a.rule === undefined) - Number(b.rule === undefined) || b.overridden - a.overridden || b.cards - a.cards || (a.rule ?? '').localeCompare(b.rule ?? ''));
    return { calls: this.calls, cards: this.cards, rules, unmatched };
  }
}

/**
 * The report as a markdown table, for a person to read or paste into a review.
 * @param report - the report.
 * @param period - the period's first day and the day it ends before (UTC dates).
 * @returns the text.
 */
export function renderFeedbackReport(report: FeedbackReport, period: { since: string; until: string }): string {
  const lines = [
    `# Feedback on cards, hook calls received from ${period.since} to before ${period.until} (UTC)`,
    '',
    `${String(report.calls)} calls read from the audit log, ${String(report.cards)} cards shown.`,
    '',
  ];
  if (report.rules.length > 0) {
    lines.push('| rule | versions | cards | shown on | accepted | overridden | no feedback | override reasons | with a comment | by payer type (cards / overridden) |', '|---|---|---:|---|---:|---:|---:|---|---:|---|');
    const counted = (pairs: readonly (readonly [string, number])[]): string => cell(pairs.map(([text, n]) => `${text}: ${String(n)}`).join('; '));
    for (const r of report.rules) {
      const payers = cell(r.payers.map(([payer, n]) => `${payer}: ${String(n.cards)} / ${String(n.overridden)}`).join('; '));
      lines.push(`| ${cell(r.rule ?? "(the service's own cards)")} | ${cell(r.versions.join(', '))} | ${String(r.cards)} | ${counted(r.hooks)} | ${String(r.accepted)} | ${String(r.overridden)} | ${String(r.withoutFeedback)} | ${counted(r.reasons)} | ${String(r.comments)} | ${payers} |`);
    }
    lines.push('');
  }
  if (report.unmatched > 0) lines.push(`${String(report.unmatched)} feedback items are on cards of calls outside this period (or pruned from the log); not counted above.`, '');
  lines.push('Comments are counted, not shown: they may hold patient details. They are in the feedback table of the store.');
  return `${lines.join('\n')}\n`;
}
