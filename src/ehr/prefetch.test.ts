/**
 * The embedded EHR fills a service's prefetch from its own FHIR server (a real Medplum repository holding the
 * fixtures): reads and searches as the templates say, null for a read of nothing, and a template whose token the
 * context cannot fill left out.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedFhir } from '../fhir/embedded-server.js';
import type { EmbeddedFhir } from '../fhir/embedded-server.js';
import { fillPrefetch } from './prefetch.js';

let fhir: EmbeddedFhir;
beforeAll(async () => {
  fhir = await createEmbeddedFhir('fhir-fixtures/patients', 'fhir-fixtures/orders');
});

describe('fillPrefetch', () => {
  it('answers each template from the FHIR server, and leaves out one the context cannot fill', async () => {
    const templates = {
      patient: 'Patient/{{context.patientId}}',
      practitioner: 'Practitioner/{{userPractitionerId}}',
      medicationRequests: 'MedicationRequest?patient={{context.patientId}}&status=active,completed,on-hold,stopped',
      encounter: 'Encounter/{{context.encounterId}}',
      broken: 'Condition?patient={{context.nothing}}',
    };
    const prefetch = await fillPrefetch(fhir, templates, 'order-sign', { userId: 'Practitioner/no-such-practitioner', patientId: 'it-seed-a' });
    expect(Object.keys(prefetch).sort()).toEqual(['medicationRequests', 'patient', 'practitioner']);
    expect(prefetch['patient']).toMatchObject({ resourceType: 'Patient', id: 'it-seed-a' });
    // A read of a resource the server does not hold is null, as the spec asks.
    expect(prefetch['practitioner']).toBeNull();
    const bundle = prefetch['medicationRequests'] as { type: string; entry?: { resource: { id: string; status: string } }[] };
    expect(bundle.type).toBe('searchset');
    // The completed fill on record; not the draft being signed.
    expect(bundle.entry?.map((e) => [e.resource.id, e.resource.status])).toEqual([['it-seed-a-mr-2025', 'completed']]);
  });
});
