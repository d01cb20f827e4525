import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { inlineMedications, medicationReferenceKey, medicationsByKey, missingMedications } from './medication-references.js';

const BASE = 'https://ehr.example/fhir';
const request = (reference: unknown, extra: Record<string, unknown> = {}): Resource =>
  ({ resourceType: 'MedicationRequest', id: 'rx', status: 'active', intent: 'order', subject: { reference: 'Patient/p' }, medicationReference: { reference, display: 'LORazepam 1 mg tablet' }, ...extra }) as unknown as Resource;
const medication = (id: string, text: string): Resource => ({ resourceType: 'Medication', id, code: { text } });

describe('medicationReferenceKey', () => {
  it.each([
    ['Medication/123', 'Medication/123'],
    ['Medication/123/_history/4', 'Medication/123'],
    [`${BASE}/Medication/abc-1.2`, 'Medication/abc-1.2'],
  ])('reads %s as %s', (reference, key) => {
    expect(medicationReferenceKey(request(reference), BASE)).toBe(key);
  });

  it.each([
    ['a contained medication', '#m'],
    ['another server', 'https://elsewhere.example/fhir/Medication/123'],
    ['another type', 'Substance/123'],
    ['a relative path that is not a reference', 'x/Medication/123'],
    ['no reference at all', undefined],
    ['a reference that is not a string', 42],
  ])('gives nothing for %s', (_name, reference) => {
    expect(medicationReferenceKey(request(reference), BASE)).toBeUndefined();
  });

  it('counts absolute references only on the server given, and only on resources that take a medication', () => {
    expect(medicationReferenceKey(request(`${BASE}/Medication/1`))).toBeUndefined();
    const observation = { resourceType: 'Observation', medicationReference: { reference: 'Medication/1' } } as unknown as Resource;
    expect(medicationReferenceKey(observation)).toBeUndefined();
  });
});

describe('missingMedications and medicationsByKey', () => {
  it('names each referenced Medication not at hand once, in the order first named', () => {
    const known = medicationsByKey([medication('b', 'B'), { resourceType: 'Patient', id: 'b' }]);
    const resources = [request('Medication/c'), request('Medication/b'), request('Medication/a'), request('Medication/c'), request('#m')];
    expect(missingMedications(resources, known)).toEqual(['Medication/c', 'Medication/a']);
  });
});

describe('inlineMedications', () => {
  it('copies the Medication in as contained and points the reference at it, keeping the display, without changing the original', () => {
    const original = request('Medication/lz', { contained: [{ resourceType: 'Medication', id: 'lz' }] });
    const snapshot = structuredClone(original);
    const [out] = inlineMedications([original], medicationsByKey([medication('lz', 'lorazepam 1 MG Oral Tablet')]));
    expect(original).toEqual(snapshot);
    const json = out as unknown as { contained: { id: string; code?: { text: string } }[]; medicationReference: { reference: string; display: string } };
    // The id already used by a contained resource is not reused.
    expect(json.contained.map((c) => c.id)).toEqual(['lz', 'lz-2']);
    expect(json.contained[1]?.code?.text).toBe('lorazepam 1 MG Oral Tablet');
    expect(json.medicationReference).toEqual({ reference: '#lz-2', display: 'LORazepam 1 mg tablet' });
  });

  it("resolves a Bundle entry's fullUrl exactly, and the key first", () => {
    const byFullUrl = new Map([['urn:uuid:1f0e', medication('sent', 'morphine PF 25 mg/mL')]]);
    const [byUrl, byKey, none] = inlineMedications([request('urn:uuid:1f0e'), request('Medication/lz'), request('urn:uuid:other')], medicationsByKey([medication('lz', 'lorazepam')]), BASE, byFullUrl);
    const text = (r: Resource | undefined) => (r as unknown as { contained?: { code: { text: string } }[] } | undefined)?.contained?.[0]?.code.text;
    expect([text(byUrl), text(byKey), text(none)]).toEqual(['morphine PF 25 mg/mL', 'lorazepam', undefined]);
  });

  it('gives back the same list when nothing is resolved', () => {
    const list = [request('Medication/unknown'), request('#m')];
    expect(inlineMedications(list, medicationsByKey([medication('other', 'x')]))).toBe(list);
    expect(inlineMedications(list, new Map())).toBe(list);
  });
});
