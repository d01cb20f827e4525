/**
 * encounter-start and encounter-discharge (CRD secondary hooks): the pump reminders of patient-view where they can
 * be acted on; at discharge only those about the pump running out. When the encounter starting is a pump refill
 * visit, encounter-start also gives coverage information for it (the Encounter), as at booking, without doc-needed
 * (CRD: not on secondary hooks); other encounters, and encounter-discharge, get cards only.
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
function encounter(hook: string, context: Record<string, unknown> = {}, request = 'seed-a.order-sign.json', extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { prefetch } = fixtureRequest(request);
  return { hook, hookInstance: `e3c1a9b7-${hook.length}-4d2e-8f6a-1b2c3d4e5f60`, context: { userId: 'Practitioner/it-prac-1', patientId: 'it-seed-a', encounterId: 'it-seed-a-admission', ...context }, prefetch: { ...prefetch, ...extra } };
}

/** The Encounter of a visit starting, with its service (CPT) in serviceType. */
const visit = (id: string, cpt: string) => ({
  resourceType: 'Encounter', id, status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
  serviceType: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: cpt }] }, subject: { reference: 'Patient/it-seed-a' }, period: { start: '2026-11-20T14:50:00Z' },
});

interface Action {
  readonly type: string;
  readonly resource: { resourceType: string; id: string; extension?: { url: string; extension: { url: string; valueCode?: string }[] }[] };
}
const coverageOf = (body: Record<string, unknown>) =>
  ((body['systemActions'] ?? []) as Action[]).map((a) => [a.type, `${a.resource.resourceType}/${a.resource.id}`, (a.resource.extension?.[0]?.extension ?? []).filter((e) => e.valueCode).map((e) => `${e.url}=${e.valueCode ?? ''}`)]);

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

  it('encounter-start of a pump refill visit gives its coverage, as at booking, on the Encounter, beside the reminders', async () => {
    const res = await call(svc, 'POST', '/cds-services/intrathecal-encounter-start', encounter('encounter-start', { encounterId: 'refill-visit' }, 'seed-a.order-sign.json', { encounter: visit('refill-visit', '95990') }));
    expect(res.status).toBe(200);
    expect(coverageOf(res.body)).toEqual([['update', 'Encounter/refill-visit', ['covered=covered', 'pa-needed=conditional']]]);
    expect(summaries(res.body).some((s) => s.includes('MRI'))).toBe(true);
  });

  it('encounter-start says no doc-needed, where appointment-book does for the same record (an inactive pump)', async () => {
    const started = await call(svc, 'POST', '/cds-services/intrathecal-encounter-start', encounter('encounter-start', { encounterId: 'refill-visit' }, 'seed-a-inactive-pump.order-sign.json', { encounter: visit('refill-visit', '95990') }));
    expect(coverageOf(started.body)).toEqual([['update', 'Encounter/refill-visit', ['covered=conditional', 'pa-needed=conditional']]]);
    const booking = { ...visit('refill-booking', '95990'), resourceType: 'Appointment', status: 'proposed', participant: [{ actor: { reference: 'Patient/it-seed-a' }, status: 'accepted' }] };
    const booked = await call(svc, 'POST', '/cds-services/intrathecal-appointment-book', { ...encounter('appointment-book', { encounterId: undefined, appointments: { resourceType: 'Bundle', type: 'collection', entry: [{ resource: booking }] } }, 'seed-a-inactive-pump.order-sign.json') });
    expect(coverageOf(booked.body)).toEqual([['update', 'Appointment/refill-booking', ['covered=conditional', 'pa-needed=conditional', 'doc-needed=clinical']]]);
  });

  it('encounter-start of another visit (an office visit, an Encounter other than the one named, another patient\'s) gives cards only', async () => {
    const office = await call(svc, 'POST', '/cds-services/intrathecal-encounter-start', encounter('encounter-start', { encounterId: 'office-visit' }, 'seed-a.order-sign.json', { encounter: visit('office-visit', '99213') }));
    expect(office.body['systemActions']).toBeUndefined();
    const other = await call(svc, 'POST', '/cds-services/intrathecal-encounter-start', encounter('encounter-start', { encounterId: 'this-visit' }, 'seed-a.order-sign.json', { encounter: visit('another-visit', '95990') }));
    expect(other.body['systemActions']).toBeUndefined();
    // Another patient's encounter (an integration fault) is not judged against seed A's record.
    const theirs = { ...visit('their-visit', '95990'), subject: { reference: 'Patient/it-seed-b' } };
    const crossed = await call(svc, 'POST', '/cds-services/intrathecal-encounter-start', encounter('encounter-start', { encounterId: 'their-visit' }, 'seed-a.order-sign.json', { encounter: theirs }));
    expect(crossed.status).toBe(200);
    expect(crossed.body['systemActions']).toBeUndefined();
  });

  it.each(['encounter-start', 'encounter-discharge'])('%s refuses a call without encounterId (400 naming it)', async (hook) => {
    const res = await call(svc, 'POST', `/cds-services/intrathecal-${hook}`, encounter(hook, { encounterId: undefined }));
    expect(res.status).toBe(400);
    expect((res.body['issue'] as { expression?: string[] }[]).map((i) => i.expression?.[0])).toEqual(['context.encounterId']);
  });
});
