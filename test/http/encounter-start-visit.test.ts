/**
 * encounter-start of a pump refill visit read from the EHR (the embedded FHIR server plays it): the Encounter the
 * context names, and the Appointment it was booked as or the ServiceRequest it carries out when its own codes are
 * the clinic's (CRD Encounter profile), are read from the fhirServer; the coverage information goes on the
 * Encounter as the EHR holds it, not on the copy the rules read; a part of another patient is not used.
 */
import type { Extension, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, coverageAnnotation, createOnEhr, fixtureRequest, startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';

const ENCOUNTER_START = '/cds-services/intrathecal-encounter-start';

let svc: RunningService;
beforeAll(async () => {
  svc = await startService({}, { clock: () => new Date('2026-11-20T15:00:00Z') });
});
afterAll(() => svc.stop());

/** Seed A's record prefetched (not the Encounter): the service reads the visit from the fhirServer. */
function starting(encounterId: string): Record<string, unknown> {
  const { prefetch } = fixtureRequest('seed-a.order-sign.json');
  return { hook: 'encounter-start', hookInstance: 'c0ffee00-1d2e-4f3a-8b9c-0d1e2f3a4b5c', fhirServer: `${svc.baseUrl}/fhir`, context: { userId: 'Practitioner/it-prac-1', patientId: 'it-seed-a', encounterId }, prefetch };
}

/** An ambulatory Encounter in progress, coded with the clinic's own visit type, for seed A unless told. */
const clinicEncounter = (links: Record<string, unknown>, patient = 'Patient/it-seed-a') => ({
  resourceType: 'Encounter', status: 'in-progress', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
  type: [{ coding: [{ system: 'urn:example:clinic-visit-types', code: 'PUMP-FOLLOWUP' }] }], subject: { reference: patient }, period: { start: '2026-11-20T14:50:00Z' }, ...links,
});

const booked = (patient = 'Patient/it-seed-a') => ({
  resourceType: 'Appointment', status: 'arrived', serviceType: [{ coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '95990' }] }],
  start: '2026-11-20T14:45:00Z', end: '2026-11-20T15:15:00Z', participant: [{ actor: { reference: patient }, status: 'accepted' }],
});

interface Action {
  readonly type: string;
  readonly resource: Resource & { extension?: Extension[]; contained?: unknown[] };
}

describe('encounter-start of a visit the EHR holds', () => {
  it('reads the Encounter and the Appointment it was booked as, and annotates the Encounter as the EHR holds it', async () => {
    const appointment = await createOnEhr(svc, booked());
    const encounter = await createOnEhr(svc, clinicEncounter({ appointment: [{ reference: `Appointment/${appointment}` }] }));
    const res = await call(svc, 'POST', ENCOUNTER_START, starting(encounter));
    expect(res.status).toBe(200);
    const actions = res.body['systemActions'] as Action[];
    expect(actions.map((a) => [a.type, `${a.resource.resourceType}/${a.resource.id ?? ''}`])).toEqual([['update', `Encounter/${encounter}`]]);
    expect(coverageAnnotation(actions[0]?.resource)).toMatchObject({ covered: 'covered', 'pa-needed': 'conditional', billingCode: '95990' });
    // As the EHR holds it: the Appointment is referenced, not contained.
    expect(actions[0]?.resource.contained).toBeUndefined();
    expect((actions[0]?.resource as { appointment?: unknown }).appointment).toEqual([{ reference: `Appointment/${appointment}` }]);
  });

  it('reads the ServiceRequest a visit carries out (basedOn)', async () => {
    const order = await createOnEhr(svc, { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/it-seed-a' }, code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '95991' }] } });
    const encounter = await createOnEhr(svc, clinicEncounter({ basedOn: [{ reference: `ServiceRequest/${order}` }] }));
    const res = await call(svc, 'POST', ENCOUNTER_START, starting(encounter));
    expect(coverageAnnotation((res.body['systemActions'] as Action[])[0]?.resource)).toMatchObject({ covered: 'covered', billingCode: '95991' });
  });

  it("does not judge a visit by another patient's Appointment, nor one it cannot read", async () => {
    const theirs = await createOnEhr(svc, booked('Patient/it-seed-b'));
    const crossed = await createOnEhr(svc, clinicEncounter({ appointment: [{ reference: `Appointment/${theirs}` }] }));
    expect((await call(svc, 'POST', ENCOUNTER_START, starting(crossed))).body['systemActions']).toBeUndefined();
    const dangling = await createOnEhr(svc, clinicEncounter({ appointment: [{ reference: 'Appointment/not-there' }] }));
    const res = await call(svc, 'POST', ENCOUNTER_START, starting(dangling));
    expect(res.status).toBe(200);
    expect(res.body['systemActions']).toBeUndefined();
  });
});
