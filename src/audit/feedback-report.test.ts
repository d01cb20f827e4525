import { describe, expect, it } from 'vitest';
import { ruleLine } from '../cards/rule-line.js';
import type { FeedbackItem } from '../hooks/types.js';
import type { StoredInvocation } from '../store/audit-store.js';
import { cardUuids, FeedbackTally, renderFeedbackReport } from './feedback-report.js';

/** A recorded call whose answer holds these cards (uuid, and the rule and version its last line names, if any). */
function recorded(id: number, cards: readonly [string, string?, string?][] | null, hook = 'order-sign', payer: Partial<Pick<StoredInvocation, 'request' | 'fetched'>> = {}): StoredInvocation {
  const response = cards && {
    cards: cards.map(([uuid, rule, version]) => ({ uuid, summary: 's', indicator: 'info', detail: rule ? `Text.\n\n${ruleLine({ rule, version: version ?? '1.0.0', pack: 'intrathecal', packVersion: '1.33.0' })}` : 'Data not available.' })),
  };
  return { id, receivedAt: '2026-11-20T15:00:00.000Z', requestId: `r${String(id)}`, serviceId: `intrathecal-${hook}`, hook, hookInstance: null, patientId: 'p', client: 'c', status: cards ? 200 : 400, ms: 1, packs: 'intrathecal@1.33.0', delivered: true, request: null, response, fetched: null, ...payer };
}

/** A Coverage of a payer type (Source of Payment Typology), active unless told. */
const coverage = (code: string, display: string, status = 'active') => ({ resourceType: 'Coverage', status, type: { coding: [{ system: 'urn:oid:2.16.840.1.113883.3.221.5', code, display }] } });
const bundle = (...resources: unknown[]) => ({ resourceType: 'Bundle', type: 'searchset', entry: resources.map((resource) => ({ resource })) });
/** The payer as prefetched, or as read from the EHR. */
const prefetched = (...resources: unknown[]) => ({ request: { prefetch: { coverages: bundle(...resources) } } });
const readFromEhr = (...resources: unknown[]) => ({ fetched: { fhirServer: 'https://ehr.example/fhir', reads: [{ url: 'https://ehr.example/fhir/Coverage?patient=p&status=active', status: 200, body: bundle(...resources) }] } });

const at = '2026-11-20T15:05:00Z';
const accepted = (card: string): FeedbackItem => ({ card, outcome: 'accepted', acceptedSuggestions: [{ id: 'x' }], outcomeTimestamp: at });
const overridden = (card: string, code?: string, comment?: string): FeedbackItem => ({
  card, outcome: 'overridden', overrideReason: { ...(code ? { reason: { system: 'https://example.org', code } } : {}), ...(comment !== undefined ? { userComment: comment } : {}) }, outcomeTimestamp: at,
});

describe('the feedback report', () => {
  it('counts page by page cards per rule across versions, acceptances, overrides by reason, comments, cards without feedback, and feedback on cards it did not read', () => {
    const tally = new FeedbackTally();
    // Two pages of the log, each with the feedback on its cards (an item on a card of no call read is not counted).
    const first = [
      recorded(1, [['c1', 'it-dose', '1.0.0'], ['c2', 'it-pa', '2.0.0'], ['c3']], 'order-sign', prefetched(coverage('5', 'PRIVATE HEALTH INSURANCE'), coverage('1', 'MEDICARE', 'cancelled'))),
      recorded(2, [['c4', 'it-dose', '1.1.0'], ['c5', 'it-pa', '2.0.0']], 'order-select', readFromEhr(coverage('11', 'MEDICARE (Managed Care)'))),
    ];
    expect(cardUuids(first)).toEqual(['c1', 'c2', 'c3', 'c4', 'c5']);
    tally.addPage(first, [accepted('c2'), overridden('c1', 'wrong-dose', 'x'), overridden('c4', 'wrong-dose', '  '), overridden('c4', undefined, 'again'), overridden('c3', 'other'), accepted('elsewhere')]);
    tally.addPage([recorded(4, [['c6', 'it-dose', '1.1.0']], 'order-select'), recorded(3, null)], [accepted('c1')]);
    // Seven items stored in all: five on the cards read.
    const report = tally.report(7);
    expect(report).toMatchObject({ calls: 4, cards: 6, unmatched: 2 });
    expect(report.rules).toEqual([
      // Most overridden first; the service's own cards last whatever their counts.
      {
        rule: 'it-dose', versions: ['1.0.0', '1.1.0'], cards: 3, hooks: [['order-select', 2], ['order-sign', 1]], accepted: 0, overridden: 3, withoutFeedback: 1, reasons: [['wrong-dose', 2], ['(none given)', 1]], comments: 2,
        // By the call's active Coverage, prefetched or read; the cancelled one does not count.
        payers: [['(no active coverage in the call)', { cards: 1, overridden: 0 }], ['11 MEDICARE (Managed Care)', { cards: 1, overridden: 2 }], ['5 PRIVATE HEALTH INSURANCE', { cards: 1, overridden: 1 }]],
      },
      { rule: 'it-pa', versions: ['2.0.0'], cards: 2, hooks: [['order-select', 1], ['order-sign', 1]], accepted: 1, overridden: 0, withoutFeedback: 1, reasons: [], comments: 0, payers: [['11 MEDICARE (Managed Care)', { cards: 1, overridden: 0 }], ['5 PRIVATE HEALTH INSURANCE', { cards: 1, overridden: 0 }]] },
      { rule: undefined, versions: [], cards: 1, hooks: [['order-sign', 1]], accepted: 0, overridden: 1, withoutFeedback: 0, reasons: [['other', 1]], comments: 0, payers: [['5 PRIVATE HEALTH INSURANCE', { cards: 1, overridden: 1 }]] },
    ]);
  });

  it('writes a markdown table whose cells cannot break it', () => {
    const tally = new FeedbackTally();
    tally.addPage([recorded(1, [['c1', 'it-dose']])], [{ ...overridden('c1'), overrideReason: { reason: { code: 'a|b', display: 'Dose\nright' } } }]);
    const text = renderFeedbackReport(tally.report(1), { since: '2026-11-01', until: '2026-12-01' });
    expect(text.split('\n').filter((l) => l.startsWith('|'))).toEqual([
      '| rule | versions | cards | shown on | accepted | overridden | no feedback | override reasons | with a comment | by payer type (cards / overridden) |',
      '|---|---|---:|---|---:|---:|---:|---|---:|---|',
      '| it-dose | 1.0.0 | 1 | order-sign: 1 | 0 | 1 | 0 | Dose right (a\\|b): 1 | 0 | (no active coverage in the call): 1 / 1 |',
    ]);
    expect(text).not.toContain('feedback items are on cards');
  });
});
