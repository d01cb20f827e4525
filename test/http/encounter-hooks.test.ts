/**
 * encounter-start and encounter-discharge (CRD secondary hooks): the pump reminders of patient-view where they can
 * be acted on; at discharge only those about the pump running out. Cards only: no coverage information.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, fixtureRequest, startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';

let svc: RunningService;
beforeAll(async () => {
  svc = await startService({ EMBEDDED_FHIR: 'false' }, { clock: () => new Date('2026-11-20T15:00:00Z') });
});
afterAll(() => svc.stop());

/** Seed A's record as prefetched for order-sign (the keys these services do not declare are ignored). */
function encounter(hook: string, context: Record<string, unknown> = {}): Record<string, unknown> {
  const { prefetch } = fixtureRequest('seed-a.order-sign.json');
  return { hook, hookInstance: `e3c1a9b7-${hook.length}-4d2e-8f6a-1b2c3d4e5f60`, context: { userId: 'Practitioner/it-prac-1', patientId: 'it-seed-a', encounterId: 'it-seed-a-admission', ...context }, prefetch };
}

const summaries = (body: Record<string, unknown>) => (body['cards'] as { summary: string }[]).map((c) => c.summary);

describe('the encounter hooks', () => {
  it('are offered in discovery', async () => {
    const services = (await call(svc, 'GET', '/cds-services')).body['services'] as { id: string; hook: string }[];
    expect(services.filter((s) => s.hook.startsWith('encounter-')).map((s) => [s.id, s.hook])).toEqual([
      ['intrathecal-encounter-start', 'encounter-start'],
      ['intrathecal-encounter-discharge', 'encounter-discharge'],
    ]);
  });

  it("encounter-start gives seed A's pump reminders, MRI precautions among them, and no system action", async () => {
    const res = await call(svc, 'POST', '/cds-services/intrathecal-encounter-start', encounter('encounter-start'));
    expect(res.status).toBe(200);
    expect(summaries(res.body).some((s) => s.includes('MRI'))).toBe(true);
    expect(res.body['systemActions']).toBeUndefined();
  });

  it('encounter-discharge keeps to the refill reminders: no MRI card for the same record', async () => {
    const res = await call(svc, 'POST', '/cds-services/intrathecal-encounter-discharge', encounter('encounter-discharge'));
    expect(res.status).toBe(200);
    expect(summaries(res.body).some((s) => s.includes('MRI'))).toBe(false);
    expect(res.body['systemActions']).toBeUndefined();
  });

  it.each(['encounter-start', 'encounter-discharge'])('%s refuses a call without encounterId (400 naming it)', async (hook) => {
    const res = await call(svc, 'POST', `/cds-services/intrathecal-${hook}`, encounter(hook, { encounterId: undefined }));
    expect(res.status).toBe(400);
    expect((res.body['issue'] as { expression?: string[] }[]).map((i) => i.expression?.[0])).toEqual(['context.encounterId']);
  });
});
