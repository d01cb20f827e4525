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

describe('describeEvidence: a prior authorization', () => {
  const pas = 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/';
  const line = (code: string, start: string, end: string) => ({
    extension: [
      { url: `${pas}extension-itemPreAuthPeriod`, valuePeriod: { start, end } },
      { url: `${pas}extension-itemAuthorizedDetail`, extension: [{ url: 'productOrServiceCode', valueCodeableConcept: { coding: [{ code }] } }] },
    ],
  });

  it("gives the number, the response's period, and each line's own period with the codes it authorizes", () => {
    const response = {
      resourceType: 'ClaimResponse', status: 'active', use: 'preauthorization', outcome: 'complete', preAuthRef: 'PAS-1',
      preAuthPeriod: { start: '2026-06-01', end: '2027-05-31' },
      item: [line('J2274', '2026-06-01', '2027-05-31'), line('S9328', '2026-06-01', '2026-11-15'), { itemSequence: 3 }],
    } as unknown as Resource;
    expect(describeEvidence('ClaimResponse/c', response)).toBe(
      'ClaimResponse/c (authorization PAS-1, 2026-06-01 to 2027-05-31, J2274 2026-06-01 to 2027-05-31, S9328 2026-06-01 to 2026-11-15, complete)'
    );
  });

  it('names an added item by its product code, and writes a line period without a start as until', () => {
    const response = {
      resourceType: 'ClaimResponse', status: 'cancelled', preAuthRef: 'A-2',
      addItem: [{ productOrService: { coding: [{ code: 'J2274' }] }, extension: [{ url: `${pas}extension-itemPreAuthPeriod`, valuePeriod: { end: '2027-01-31' } }] }],
    } as unknown as Resource;
    expect(describeEvidence('ClaimResponse/d', response)).toBe('ClaimResponse/d (authorization A-2, J2274 until 2027-01-31, cancelled)');
  });

  it('writes a period without an end as from its start, no end stated, so a certification that states none shows when it began', () => {
    const response = {
      resourceType: 'ClaimResponse', status: 'active', outcome: 'complete', preAuthRef: 'A-3', preAuthPeriod: { start: '2026-11-18' },
      addItem: [{ productOrService: { coding: [{ code: 'S9328' }] }, extension: [{ url: `${pas}extension-itemPreAuthPeriod`, valuePeriod: { start: '2026-11-19' } }] }],
    } as unknown as Resource;
    expect(describeEvidence('ClaimResponse/e', response)).toBe('ClaimResponse/e (authorization A-3, from 2026-11-18 (no end stated), S9328 from 2026-11-19 (no end stated), complete)');
  });

  it("gives each line's review action, on its adjudication (PAS 2) or on the line (PAS 1), with the line's number and the payer's reasons", () => {
    const review = (code: string, number?: string, reasons: object[] = []) => ({
      url: `${pas}extension-reviewAction`,
      extension: [
        { url: `${pas}extension-reviewActionCode`, valueCodeableConcept: { coding: [{ system: 'https://codesystem.x12.org/005010/306', code }] } },
        ...(number ? [{ url: 'number', valueString: number }] : []),
        ...reasons.map((valueCodeableConcept) => ({ url: 'reasonCode', valueCodeableConcept })),
      ],
    });
    const drug = line('J2274', '2026-11-15', '2027-05-14');
    const response = {
      resourceType: 'ClaimResponse', status: 'active', use: 'preauthorization', outcome: 'partial',
      item: [
        { ...drug, adjudication: [{ category: { coding: [{ code: 'submitted' }] }, extension: [review('A1', 'AUTH0001')] }] },
        { extension: [line('S9328', '2026-11-15', '2027-05-14').extension[1], review('A3', 'RV-3', [{ coding: [{ code: 'X1', display: 'Example payer reason' }] }, { text: 'No refill log' }])] },
        { extension: [line('J0475', '2026-11-15', '2027-05-14').extension[1]], adjudication: [{ extension: [review('Z9')] }] },
        { itemSequence: 4, adjudication: [{ extension: [review('A4', 'P-4')] }] },
      ],
    } as unknown as Resource;
    expect(describeEvidence('ClaimResponse/e', response)).toBe(
      'ClaimResponse/e (J2274 certified in total (no. AUTH0001) 2026-11-15 to 2027-05-14, S9328 not certified (no. RV-3; reason X1 Example payer reason; No refill log), J0475 Z9, item 4 pended (no. P-4), partial)'
    );
  });
});
