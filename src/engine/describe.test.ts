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
