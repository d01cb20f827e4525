/**
 * Synthetic large records for the benchmarks: seed A's request with extra resources spread over the searched types,
 * as a FHIR server would return them (unrelated codes, mixed statuses, a few pain scores).
 */
import { readFileSync } from 'node:fs';
import type { Resource } from '@medplum/fhirtypes';

/** A hook request body with prefetch. */
export type BenchBody = { context: Record<string, unknown>; prefetch: Record<string, { entry?: { resource: Resource }[] } | null> } & Record<string, unknown>;

/**
 * Reads a fixture request.
 * @param name - file in fhir-fixtures/requests.
 * @returns the body.
 */
export function fixture(name: string): BenchBody {
  return JSON.parse(readFileSync(`fhir-fixtures/requests/${name}`, 'utf8')) as BenchBody;
}

/**
 * Seed A with extra resources.
 * @param extra - how many resources to add.
 * @returns the body.
 */
export function synthetic(extra: number): BenchBody {
  const body = fixture('seed-a.order-sign.json');
  const patient = { reference: 'Patient/it-seed-a' };
  const kinds = ['conditions', 'observations', 'procedures', 'medicationRequests', 'devices'] as const;
  for (let i = 0; i < extra; i++) {
    const kind = kinds[i % kinds.length] as (typeof kinds)[number];
    const id = `syn-${i}`;
    const date = `20${String(10 + (i % 16)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10}`;
    const resource: Resource =
      kind === 'conditions'
        ? { resourceType: 'Condition', id, subject: patient, clinicalStatus: { coding: [{ code: i % 3 ? 'resolved' : 'active' }] }, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: `J0${i % 10}.9` }] }, onsetDateTime: date }
        : kind === 'observations'
          ? { resourceType: 'Observation', id, status: 'final', subject: patient, code: { coding: [{ system: 'http://loinc.org', code: i % 7 ? '8867-4' : '72514-3' }] }, valueInteger: i % 10, effectiveDateTime: `${date}T10:00:00Z` }
          : kind === 'procedures'
            ? { resourceType: 'Procedure', id, status: 'completed', subject: patient, code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '99213' }] }, performedDateTime: date }
            : kind === 'medicationRequests'
              ? { resourceType: 'MedicationRequest', id, status: i % 4 ? 'completed' : 'active', intent: 'order', subject: patient, medicationCodeableConcept: { text: `Drug ${i % 50}`, coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: String(300000 + (i % 50)) }] }, authoredOn: date }
              : { resourceType: 'Device', id, status: 'active', patient, type: { text: 'Glucose monitor' } };
    body.prefetch[kind]?.entry?.push({ resource });
  }
  return body;
}
