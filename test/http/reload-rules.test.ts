/**
 * Reloading the rules while the service answers, over real HTTP with the real SQLite audit log: a call that arrives
 * after a reload is answered with the new rules and its record names them (thresholds this deployment set
 * included); a call under way when the rules are reloaded finishes, and is recorded, with the rules it began with;
 * discovery follows the services; a refused reload changes nothing. Seed A bills about 13.2 mg of morphine a day.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredInvocation } from '../../src/store/audit-store.js';
import { addAuditReader, call, fixtureRequest, startFakeFhir, startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';
import { copyRules, editFile, PACK_VERSION } from '../support/rules-copy.js';

const ORDER_SIGN = '/cds-services/intrathecal-order-sign';
const clock = () => new Date('2026-11-20T15:00:00Z');
const rulesDir = copyRules();
const thresholds = join(rulesDir, 'thresholds.json');
const readers = join(rulesDir, 'readers.json');
let token: string;
let svc: RunningService;

beforeAll(async () => {
  writeFileSync(thresholds, '{}');
  token = addAuditReader('pa-lead', readers);
  svc = await startService({ EMBEDDED_FHIR: 'false', RULES_DIR: rulesDir, THRESHOLDS_FILE: thresholds, AUDIT_READERS_FILE: readers }, { clock });
});
afterAll(() => svc.stop());

interface Card {
  readonly summary: string;
}

const aboveConsensus = (body: Record<string, unknown>) => (body['cards'] as Card[]).filter((c) => c.summary.includes('above the PACC consensus maximum')).map((c) => c.summary);

async function recorded(requestId: string): Promise<StoredInvocation | undefined> {
  const found = await call(svc, 'GET', `/audit/hook-invocations?requestId=${requestId}`, undefined, { Authorization: `Bearer ${token}` });
  return (found.body['entries'] as StoredInvocation[])[0];
}

describe('reloading the rules', () => {
  it('answers calls after a reload with the new thresholds and records which; a call under way keeps the rules it began with', async () => {
    const before = await call(svc, 'POST', ORDER_SIGN, fixtureRequest('seed-a.order-sign.json'), { 'X-Request-Id': 'reload-before' });
    expect(aboveConsensus(before.body)).toEqual([]);
    // A stand-in FHIR server holds the one read the call makes (its PAS Claims, not prefetched) until the rules are
    // reloaded: a real server cannot be made to wait for that moment.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const fhir = await startFakeFhir((_req, res) => {
      void held.then(() => res.setHeader('Content-Type', 'application/fhir+json').end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [] })));
    });
    try {
      const request = fixtureRequest('seed-a.order-sign.json');
      const prefetch = Object.fromEntries(Object.entries(request.prefetch ?? {}).filter(([key]) => key !== 'claims'));
      const underWay = call(svc, 'POST', ORDER_SIGN, { ...request, prefetch, fhirServer: fhir.url }, { 'X-Request-Id': 'reload-under-way' });
      while (fhir.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
      writeFileSync(thresholds, JSON.stringify({ morphineMaxDailyMg: 12 }));
      expect(svc.built.parts.rules.reload()).toMatchObject({ outcome: 'reloaded', label: `intrathecal@${PACK_VERSION}[morphineMaxDailyMg=12]` });
      expect((await call(svc, 'GET', '/healthz')).body).toMatchObject({ status: 'ok', packs: `intrathecal@${PACK_VERSION}[morphineMaxDailyMg=12]` });
      const after = await call(svc, 'POST', ORDER_SIGN, fixtureRequest('seed-a.order-sign.json'), { 'X-Request-Id': 'reload-after' });
      expect(aboveConsensus(after.body)).toEqual(['Morphine 13.2 mg/day is above the PACC consensus maximum of 12 mg/day']);
      release();
      const answered = await underWay;
      expect(answered.status).toBe(200);
      expect(aboveConsensus(answered.body)).toEqual([]);
    } finally {
      release();
      await fhir.stop();
    }
    expect((await recorded('reload-before'))?.packs).toBe(`intrathecal@${PACK_VERSION}`);
    expect((await recorded('reload-under-way'))?.packs).toBe(`intrathecal@${PACK_VERSION}`);
    expect((await recorded('reload-after'))?.packs).toBe(`intrathecal@${PACK_VERSION}[morphineMaxDailyMg=12]`);
  });

  it('offers the services of the rules reloaded in discovery', async () => {
    const names = async () => ((await call(svc, 'GET', '/cds-services')).body['services'] as { id: string }[]).map((s) => s.id);
    expect(await names()).toContain('intrathecal-order-dispatch');
    editFile(join(rulesDir, 'services.yaml'), '  - id: intrathecal-order-dispatch', '  - id: intrathecal-order-dispatch-v2');
    expect(svc.built.parts.rules.reload().outcome).toBe('reloaded');
    expect(await names()).toContain('intrathecal-order-dispatch-v2');
    expect(await names()).not.toContain('intrathecal-order-dispatch');
    const gone = await call(svc, 'POST', '/cds-services/intrathecal-order-dispatch', fixtureRequest('seed-a.order-sign.json'));
    expect(gone.status).toBe(404);
    // A card it gave before the reload can still be overridden: the feedback is kept under its service.
    const override = { feedback: [{ card: 'b3a9c3b2-4f67-4b5e-9f0e-2f1d2a8c0d11', outcome: 'overridden', outcomeTimestamp: '2026-11-20T15:00:00Z' }] };
    expect((await call(svc, 'POST', '/cds-services/intrathecal-order-dispatch/feedback', override)).body).toEqual({ stored: 1 });
    expect(await svc.built.parts.feedback.forCards(['b3a9c3b2-4f67-4b5e-9f0e-2f1d2a8c0d11'])).toMatchObject([{ serviceId: 'intrathecal-order-dispatch', outcome: 'overridden' }]);
    expect((await call(svc, 'POST', '/cds-services/intrathecal-never-offered/feedback', override)).status).toBe(404);
  });

  it('refuses rules that do not load and goes on answering as before', async () => {
    const label = svc.built.parts.rules.current.label;
    editFile(join(rulesDir, 'packs/intrathecal/rules/it-morphine-above-consensus.yaml'), 'hooks: [order-sign]', 'hooks: [order-sign');
    expect(svc.built.parts.rules.reload()).toMatchObject({ outcome: 'refused', label });
    const res = await call(svc, 'POST', ORDER_SIGN, fixtureRequest('seed-a.order-sign.json'));
    expect(res.status).toBe(200);
    expect(aboveConsensus(res.body)).toEqual(['Morphine 13.2 mg/day is above the PACC consensus maximum of 12 mg/day']);
  });
});
