import { describe, expect, it } from 'vitest';
import { codingsOf, compileValueSet } from './value-sets.js';

const vs = compileValueSet(
  {
    resourceType: 'ValueSet',
    id: 'x',
    url: 'https://example.org/vs/x',
    status: 'active',
    compose: {
      include: [
        { system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', concept: [{ code: 'J2274' }] },
        { system: 'http://hl7.org/fhir/sid/icd-10-cm', concept: [{ code: 'G89.4' }], filter: [{ property: 'concept', op: 'is-a', value: 'G89.2' }] },
      ],
      exclude: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', concept: [{ code: 'G89.22' }] }],
    },
  },
  'x.json'
);

describe('value sets', () => {
  it.each([
    ['https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', 'J2274'],
    ['http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', 'J2274'],
    ['http://terminology.hl7.org/CodeSystem/hcpcs-Level-II', 'j2274'],
    ['urn:oid:2.16.840.1.113883.6.285', 'J2274'],
  ])('matches HCPCS under %s', (system, code) => {
    expect(vs.contains({ system, code })).toBe(true);
  });

  it('matches ICD-10-CM with or without the dot, and children of an is-a filter', () => {
    expect(vs.contains({ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'G894' })).toBe(true);
    expect(vs.contains({ system: 'urn:oid:2.16.840.1.113883.6.90', code: 'G89.29' })).toBe(true);
    expect(vs.contains({ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'G89.2' })).toBe(true);
  });

  it('does not match excluded codes, other systems, siblings or missing codes', () => {
    expect(vs.contains({ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'G89.22' })).toBe(false);
    expect(vs.contains({ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'G89.3' })).toBe(false);
    expect(vs.contains({ system: 'http://snomed.info/sct', code: 'J2274' })).toBe(false);
    expect(vs.contains({ system: 'http://hl7.org/fhir/sid/icd-10-cm' })).toBe(false);
  });

  it('reads codings from a Coding, a CodeableConcept or a resource code', () => {
    const coding = { system: 's', code: 'c' };
    expect(codingsOf(coding)).toEqual([coding]);
    expect(codingsOf({ coding: [coding] })).toEqual([coding]);
    expect(codingsOf({ resourceType: 'Condition', code: { coding: [coding] } })).toEqual([coding]);
    expect(codingsOf('G89.4')).toEqual([]);
  });

  it('includes another value set whole: its members are members, its own exclusions hold, and ours still apply', () => {
    const sets = new Map<string, ReturnType<typeof compileValueSet>>();
    const union = compileValueSet(
      {
        resourceType: 'ValueSet',
        id: 'u',
        url: 'https://example.org/vs/u',
        status: 'active',
        compose: {
          include: [{ valueSet: ['https://example.org/vs/x'] }, { system: 'http://loinc.org', concept: [{ code: '72514-3' }] }],
          exclude: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', concept: [{ code: 'G89.21' }] }],
        },
      },
      'u.json',
      (url) => sets.get(url)
    );
    sets.set(vs.url, vs);
    expect(union.includesValueSets).toEqual(['https://example.org/vs/x']);
    expect(union.contains({ system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'J2274' })).toBe(true);
    expect(union.contains({ system: 'http://loinc.org', code: '72514-3' })).toBe(true);
    expect(union.contains({ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'G89.29' })).toBe(true);
    // Excluded by the included value set, and by the including one.
    expect(union.contains({ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'G89.22' })).toBe(false);
    expect(union.contains({ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'G89.21' })).toBe(false);
    expect(union.contains({ system: 'http://loinc.org', code: '8867-4' })).toBe(false);
  });

  it.each([
    [{ resourceType: 'ValueSet', id: 'a', url: 'u', status: 'active', compose: { include: [{ valueSet: ['v1', 'v2'] }] } }, /includes a value set whole only alone/],
    [{ resourceType: 'ValueSet', id: 'a', url: 'u', status: 'active', compose: { include: [{ valueSet: ['v1'], system: 'http://loinc.org', concept: [{ code: 'x' }] }] } }, /includes a value set whole only alone/],
    [{ resourceType: 'ValueSet', id: 'a', status: 'active' }, /id and url/],
    [{ resourceType: 'ValueSet', id: 'a', url: 'u', status: 'active', compose: { include: [{ concept: [{ code: 'x' }] }] } }, /needs a system/],
    [{ resourceType: 'ValueSet', id: 'a', url: 'u', status: 'active', compose: { include: [{ system: 'http://loinc.org' }] } }, /lists no concept/],
  ])('refuses an unusable ValueSet', (resource, message) => {
    expect(() => compileValueSet(resource as never, 'f.json')).toThrow(message);
  });
});
