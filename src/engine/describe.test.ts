import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { describeEvidence } from './describe.js';

const observation = (valueQuantity: Record<string, unknown>): Resource =>
  ({ resourceType: 'Observation', id: 'o', status: 'final', code: { text: 'Pain score' }, valueQuantity, effectiveDateTime: '2026-11-10T10:00:00Z' });

describe('describeEvidence: a measured value with its unit', () => {
  it('writes the unit text, else a UCUM code, never an annotation or a local code', () => {
    expect(describeEvidence('Observation/o', observation({ value: 12, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' }))).toBe('Observation/o (Pain score, 12 mg, 2026-11-10)');
    expect(describeEvidence('Observation/o', observation({ value: 0.5, system: 'http://unitsofmeasure.org', code: 'mL/d' }))).toBe('Observation/o (Pain score, 0.5 mL/d, 2026-11-10)');
    expect(describeEvidence('Observation/o', observation({ value: 6, system: 'http://unitsofmeasure.org', code: '{score}' }))).toBe('Observation/o (Pain score, 6, 2026-11-10)');
    expect(describeEvidence('Observation/o', observation({ value: 6, code: '1' }))).toBe('Observation/o (Pain score, 6, 2026-11-10)');
    expect(describeEvidence('Observation/o', observation({ value: 6, system: 'urn:oid:1.2.3', code: '17' }))).toBe('Observation/o (Pain score, 6, 2026-11-10)');
    expect(describeEvidence('Observation/o', observation({ unit: 'mg' }))).toBe('Observation/o (Pain score, 2026-11-10)');
  });
});

describe('describeEvidence: a medication administration', () => {
  it('names the drug, the dose, the route by name, the status and the day', () => {
    const given: Resource = {
      resourceType: 'MedicationAdministration',
      id: 'a',
      status: 'completed',
      medicationCodeableConcept: { text: 'Baclofen 50 mcg/mL intrathecal' },
      subject: { reference: 'Patient/p' },
      effectiveDateTime: '2026-10-01T09:00:00Z',
      dosage: { dose: { value: 50, system: 'http://unitsofmeasure.org', code: 'ug' }, route: { coding: [{ system: 'http://snomed.info/sct', code: '72607000', display: 'Intrathecal route' }] } },
    };
    expect(describeEvidence('MedicationAdministration/a', given)).toBe('MedicationAdministration/a (Baclofen 50 mcg/mL intrathecal, 50 ug, Intrathecal route, completed, 2026-10-01)');
    const bare: Resource = { resourceType: 'MedicationAdministration', id: 'b', status: 'completed', medicationCodeableConcept: { text: 'Morphine' }, subject: { reference: 'Patient/p' }, effectivePeriod: { start: '2026-09-02T08:00:00Z' }, dosage: { route: { coding: [{ code: '72607000' }] } } };
    expect(describeEvidence('MedicationAdministration/b', bare)).toBe('MedicationAdministration/b (Morphine, 72607000, completed, 2026-09-02)');
  });
});
