import { describe, expect, it } from 'vitest';
import { KEPT_BODY_CHARS, noteRead, readsText } from './fhir-reads.js';
import type { FhirReads } from './fhir-reads.js';

const parse = (text: string | undefined): { fhirServer?: string; reads: Record<string, unknown>[] } => JSON.parse(text ?? 'null') as { reads: Record<string, unknown>[] };

describe('the reads of one call, as the audit log keeps them', () => {
  it('is nothing when nothing was read', () => {
    expect(readsText('https://ehr.example/fhir', [])).toBeUndefined();
  });

  it('splices each body in as received, beside its URL, time and status, or says why there is none', () => {
    const text = readsText('https://ehr.example/fhir', [
      { url: 'https://ehr.example/fhir/Patient/p"1', ms: 3.25, status: 200, text: '{ "resourceType" : "Patient",\n "id": "p1" }' },
      { url: 'https://ehr.example/fhir/Condition?patient=p1', ms: 10, status: 503, error: 'FHIR server answered HTTP 503' },
      { url: 'https://ehr.example/fhir/Device?patient=p1', ms: 1, error: 'FHIR server did not answer in time (request deadline)' },
    ]);
    expect(parse(text)).toEqual({
      fhirServer: 'https://ehr.example/fhir',
      reads: [
        { url: 'https://ehr.example/fhir/Patient/p"1', ms: 3.25, status: 200, body: { resourceType: 'Patient', id: 'p1' } },
        { url: 'https://ehr.example/fhir/Condition?patient=p1', ms: 10, status: 503, error: 'FHIR server answered HTTP 503' },
        { url: 'https://ehr.example/fhir/Device?patient=p1', ms: 1, error: 'FHIR server did not answer in time (request deadline)' },
      ],
    });
    expect(text).toContain('{ "resourceType" : "Patient",\n "id": "p1" }');
  });

  it(`keeps bodies up to ${String(KEPT_BODY_CHARS)} characters a call, and notes the later ones read and not kept`, () => {
    const big = (n: number): string => `{"resourceType":"Bundle","pad":"${'x'.repeat(n)}"}`;
    // Two of these leave 40 characters: room for the small Patient, not for the third Bundle.
    const half = big(KEPT_BODY_CHARS / 2 - 54);
    const noted: FhirReads = [];
    noteRead(noted, { url: 'u1', ms: 1, status: 200, text: half });
    noteRead(noted, { url: 'u2', ms: 1, status: 200, text: half });
    noteRead(noted, { url: 'u3', ms: 1, status: 200, text: big(100), error: 'FHIR server answered with something that is not a FHIR resource' });
    noteRead(noted, { url: 'u4', ms: 1, status: 200, text: '{"resourceType":"Patient"}' });
    // Let go as soon as it is noted: the call's reads no longer hold the third body.
    expect(noted[2]).toEqual({ url: 'u3', ms: 1, status: 200, error: 'FHIR server answered with something that is not a FHIR resource', notKept: true });
    const reads = parse(readsText(undefined, noted)).reads;
    expect(reads.map((r) => [r['url'], r['body'] === undefined ? 'not kept' : 'kept'])).toEqual([['u1', 'kept'], ['u2', 'kept'], ['u3', 'not kept'], ['u4', 'kept']]);
    expect(reads[2]?.['notKept']).toBe('the bodies read for this call passed 16 MB');
  });
});
