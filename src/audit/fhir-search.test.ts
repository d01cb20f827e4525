/**
 * FHIR search values of AuditEvent read as the log's filters: a `date` value's whole precision, each prefix against a
 * moment, repeated values together, and what cannot be read named; `patient` as a reference or an id.
 */
import { describe, expect, it } from 'vitest';
import { dateSearchRange, narrowed, patientSearchId } from './fhir-search.js';

const iso = (r: ReturnType<typeof dateSearchRange>) => (typeof r === 'string' ? r : { since: r.since?.toISOString(), until: r.until?.toISOString() });

describe('FHIR date search values', () => {
  it.each([
    ['2026-11-20', '2026-11-20T00:00:00.000Z', '2026-11-21T00:00:00.000Z'],
    ['eq2026-11', '2026-11-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z'],
    ['2026', '2026-01-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['2026-12', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['2026-11-20T10:15Z', '2026-11-20T10:15:00.000Z', '2026-11-20T10:16:00.000Z'],
    ['2026-11-20T10:15:30+01:00', '2026-11-20T09:15:30.000Z', '2026-11-20T09:15:31.000Z'],
    ['2026-11-20T10:15:30.25Z', '2026-11-20T10:15:30.250Z', '2026-11-20T10:15:30.251Z'],
  ])('%s (no prefix or eq) is its whole precision', (value, since, until) => {
    expect(iso(dateSearchRange([value]))).toEqual({ since, until });
  });

  it('reads each prefix against a moment: ge and gt from the start or past the end, le and lt to the end or the start', () => {
    expect(iso(dateSearchRange(['ge2026-11-20']))).toEqual({ since: '2026-11-20T00:00:00.000Z', until: undefined });
    expect(iso(dateSearchRange(['gt2026-11-20']))).toEqual({ since: '2026-11-21T00:00:00.000Z', until: undefined });
    expect(iso(dateSearchRange(['sa2026-11-20']))).toEqual({ since: '2026-11-21T00:00:00.000Z', until: undefined });
    expect(iso(dateSearchRange(['le2026-11-20']))).toEqual({ since: undefined, until: '2026-11-21T00:00:00.000Z' });
    expect(iso(dateSearchRange(['lt2026-11-20']))).toEqual({ since: undefined, until: '2026-11-20T00:00:00.000Z' });
    expect(iso(dateSearchRange(['eb2026-11-20']))).toEqual({ since: undefined, until: '2026-11-20T00:00:00.000Z' });
  });

  it('takes repeated values together: November, whichever comes first', () => {
    expect(iso(dateSearchRange(['lt2026-12-01', 'ge2026-11-01', 'ge2026-10-01']))).toEqual({ since: '2026-11-01T00:00:00.000Z', until: '2026-12-01T00:00:00.000Z' });
    expect(iso(narrowed({ since: new Date('2026-11-10T00:00:00Z') }, { since: new Date('2026-11-01T00:00:00Z'), until: new Date('2026-12-01T00:00:00Z') }))).toEqual({ since: '2026-11-10T00:00:00.000Z', until: '2026-12-01T00:00:00.000Z' });
  });

  it('names what it cannot read: another prefix, no date, a day that does not exist, a time without its zone', () => {
    expect(dateSearchRange(['ne2026-11-20'])).toBe('date prefix ne is not supported; use eq, gt, ge, lt, le, sa or eb');
    expect(dateSearchRange(['ap2026-11-20'])).toMatch(/prefix ap is not supported/);
    for (const bad of ['ge', 'yesterday', '2026-02-30', '2026-13', '2026-11-20T10:15', '2026-11-20T25:00Z', '2026-11-20T24:00Z', '2026-11-20T10:60Z', '2026-11-20T10:15:60Z', '20261120']) {
      expect(dateSearchRange(['ge2026-11-01', bad])).toBe(`date ${bad} is not a FHIR date (2026-11, 2026-11-01) or date-time with its zone (2026-11-01T08:00:00Z), after an optional prefix (ge2026-11-01)`);
    }
  });
});

describe('FHIR patient search values', () => {
  it('takes a Patient reference, relative or absolute, or the id; refuses a reference to something else', () => {
    expect(patientSearchId('Patient/it-seed-a')).toBe('it-seed-a');
    expect(patientSearchId('https://ehr.example/fhir/Patient/it-seed-a')).toBe('it-seed-a');
    expect(patientSearchId('it-seed-a')).toBe('it-seed-a');
    expect(patientSearchId('Group/it-seed-a')).toBeUndefined();
    expect(patientSearchId('Patient/')).toBeUndefined();
  });
});
