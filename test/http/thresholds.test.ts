/**
 * THRESHOLDS_FILE end to end: a deployment's value reaches the cards over HTTP, each card comparing against it says
 * the number is this deployment's, and the start says which numbers were set (a warning when one replaces a number
 * its source confirms). Seed A bills about 13.2 mg of morphine a day, under the pack's PACC maximum of 15.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { call, captureLog, fixtureRequest, startService } from '../support/harness.js';

const ORDER_SIGN = '/cds-services/intrathecal-order-sign';
const clock = () => new Date('2026-11-20T15:00:00Z');

interface Card {
  readonly summary: string;
  readonly detail?: string;
}

function thresholdsFile(values: Record<string, number>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'itcds-thresholds-')), 'thresholds.json');
  writeFileSync(file, JSON.stringify(values));
  return file;
}

/** The summaries of seed A's cards from a service started with these settings, and what its start logged. */
async function seedA(env: Record<string, string>): Promise<{ cards: Card[]; logged: Record<string, unknown>[] }> {
  const { lines, log } = captureLog();
  const svc = await startService({ EMBEDDED_FHIR: 'false', ...env }, { clock, log });
  try {
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const res = await call(svc, 'POST', ORDER_SIGN, fixtureRequest('seed-a.order-sign.json'));
    expect(res.status).toBe(200);
    return { cards: res.body['cards'] as Card[], logged };
  } finally {
    await svc.stop();
  }
}

const aboveConsensus = (cards: Card[]) => cards.filter((c) => c.summary.includes('above the PACC consensus maximum'));

describe('THRESHOLDS_FILE', () => {
  it('puts a deployment value in the cards, says so on each, and logs it at start', async () => {
    expect(aboveConsensus((await seedA({})).cards)).toEqual([]);
    const { cards, logged } = await seedA({ THRESHOLDS_FILE: thresholdsFile({ morphineMaxDailyMg: 12 }) });
    const [card] = aboveConsensus(cards);
    expect(card?.summary).toBe('Morphine 13.2 mg/day is above the PACC consensus maximum of 12 mg/day');
    expect(card?.detail).toContain('Maximum intrathecal morphine per day (PACC): 12 mg/day, set by this deployment');
    expect(logged.find((l) => String(l['msg']).startsWith('thresholds set by this deployment'))?.['thresholds']).toEqual([
      { pack: 'intrathecal', id: 'morphineMaxDailyMg', value: 12, unit: 'mg/day', confidence: 'unconfirmed' },
    ]);
    expect(logged.filter((l) => l['level'] === 40).map((l) => l['msg'])).not.toContainEqual(expect.stringContaining('THRESHOLDS_FILE'));
  });

  it('warns at start when a deployment value replaces a number its source confirms', async () => {
    const { logged } = await seedA({ THRESHOLDS_FILE: thresholdsFile({ ziconotideMaxDailyMcg: 21.6, monitoringLookbackDays: 120 }) });
    const warning = logged.find((l) => l['level'] === 40 && String(l['msg']).includes('THRESHOLDS_FILE replaces numbers their source confirms'));
    expect(warning?.['thresholds']).toEqual(['ziconotideMaxDailyMcg']);
  });
});
