import { describe, expect, it } from 'vitest';
import type { CriterionResult, Finding } from '../engine/evaluate.js';
import type { CoverageTemplate } from '../engine/pack-types.js';
import type { Extension, MedicationRequest } from '@medplum/fhirtypes';
import { COVERAGE_INFORMATION, coverageInformationActions, findingCoverage, mergeCoverage } from './coverage-information.js';
import type { CoverageInformationOptions } from './coverage-information.js';

const TEMPLATE: CoverageTemplate = { paNeeded: 'satisfied', satisfiedPaId: '{{authorizationNumber}}', reason: 'Authorization {{authorizationNumber}} until {{authorizationEnd}}.', sources: ['pa-policy'] };

function finding(results: Record<string, Partial<CriterionResult>>): Finding {
  const map = new Map(Object.entries(results).map(([name, r]) => [name, { name, description: name, evidence: [], truth: true, ...r }]));
  return { packId: 'p', packVersion: '1', rule: { coverage: TEMPLATE } as Finding['rule'], results: map, evidence: [] };
}

describe('findingCoverage', () => {
  it("fills the reason and the authorization number from the finding's criteria", () => {
    const filled = findingCoverage(finding({ authorizationNumber: { value: ['8300417'] }, authorizationEnd: { value: ['2027-11-17'] } }));
    expect(filled).toEqual({ paNeeded: 'satisfied', satisfiedPaId: '8300417', reason: 'Authorization 8300417 until 2027-11-17.', sources: ['pa-policy'] });
  });

  it('leaves the authorization number out when its criterion is not known, and says so only in the reason', () => {
    const filled = findingCoverage(finding({ authorizationNumber: { truth: 'unknown' }, authorizationEnd: { value: ['2027-11-17'] } }));
    expect(filled.satisfiedPaId).toBeUndefined();
    expect('satisfiedPaId' in filled).toBe(false);
    expect(filled.reason).toBe('Authorization not known until 2027-11-17.');
  });
});

describe('mergeCoverage', () => {
  it('sends satisfied-pa-id only when the merged pa-needed is satisfied', () => {
    const satisfied: CoverageTemplate = { paNeeded: 'satisfied', satisfiedPaId: '8300417', reason: 'on file', sources: ['crd'] };
    expect(mergeCoverage([satisfied, { paNeeded: 'no-auth', reason: 'ffs', sources: ['ffs-faq'] }]).satisfiedPaId).toBe('8300417');
    const stricter = mergeCoverage([satisfied, { paNeeded: 'conditional', reason: 'plan', sources: ['crd', 'plan-policy'] }]);
    expect(stricter.paNeeded).toBe('conditional');
    expect(stricter.satisfiedPaId).toBeUndefined();
  });

  it('adds up the sources of the conclusions, each once', () => {
    const merged = mergeCoverage([{ paNeeded: 'satisfied', satisfiedPaId: '8300417', reason: 'on file', sources: ['crd'] }, { paNeeded: 'conditional', reason: 'plan', sources: ['crd', 'plan-policy'] }]);
    expect(merged.sources).toEqual(['crd', 'plan-policy']);
  });
});

describe('coverageInformationActions', () => {
  const coverage = { resourceType: 'Coverage', id: 'cov-1', status: 'active' } as const;
  const covered: CoverageTemplate = { covered: 'covered', paNeeded: 'no-auth', reason: 'Follows the established pump.', sources: ['ncd'] };
  function actions(order: MedicationRequest, template: CoverageTemplate = covered, date = '2026-11-20'): ReturnType<typeof coverageInformationActions> {
    const f = { packId: 'p', packVersion: '1', rule: { coverage: template } as Finding['rule'], results: new Map(), evidence: [], order } as Finding;
    let n = 0;
    const options: CoverageInformationOptions = { coverage: coverage as CoverageInformationOptions['coverage'], date, uuid: () => `id-${date}-${++n}`, billingCode: () => ({ system: 'hcpcs', code: 'J2274' }) };
    return coverageInformationActions([order], [f], options);
  }
  const draft: MedicationRequest = { resourceType: 'MedicationRequest', id: 'mr-1', status: 'draft', intent: 'order', subject: { reference: 'Patient/p' }, extension: [{ url: 'http://example.org/other', valueString: 'kept' }] };
  const annotations = (r: unknown): Extension[] => ((r as MedicationRequest).extension ?? []).filter((e) => e.url === COVERAGE_INFORMATION);

  it('annotates a draft order that carries no coverage information, keeping its other extensions', () => {
    const [action] = actions(draft);
    expect(action?.type).toBe('update');
    expect((action?.resource as MedicationRequest).extension?.[0]).toEqual({ url: 'http://example.org/other', valueString: 'kept' });
    expect(annotations(action?.resource)).toHaveLength(1);
  });

  it('sends nothing for an order that already carries the same assertion from an earlier call (another date and id)', () => {
    const stored = actions(draft, covered, '2026-11-18')[0]?.resource as MedicationRequest;
    expect(actions(stored)).toEqual([]);
  });

  it('sends nothing when the stored assertion comes back with its sub-extensions and keys in another order', () => {
    const stored = actions(draft, covered, '2026-11-18')[0]?.resource as MedicationRequest;
    // As a FHIR server may store and return it: sub-extensions reversed, each object's keys reversed.
    const reversed = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reversed) : typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
    const shuffled = { ...stored, extension: stored.extension?.map((e) => (e.url === COVERAGE_INFORMATION ? { ...(reversed(e) as Extension), extension: (reversed(e.extension) as Extension[]).reverse() } : e)) };
    expect(JSON.stringify(shuffled)).not.toBe(JSON.stringify(stored));
    expect(actions(shuffled)).toEqual([]);
  });

  it('replaces an annotation about the same coverage when what it asserts changed', () => {
    const stored = actions(draft, covered, '2026-11-18')[0]?.resource as MedicationRequest;
    const [action] = actions(stored, { covered: 'covered', paNeeded: 'auth-needed', reason: 'Authorization ended.', sources: ['ncd'] });
    const [annotation] = annotations(action?.resource);
    expect(annotations(action?.resource)).toHaveLength(1);
    expect(annotation?.extension?.find((e) => e.url === 'pa-needed')?.valueCode).toBe('auth-needed');
    expect(annotation?.extension?.find((e) => e.url === 'date')?.valueDate).toBe('2026-11-20');
  });

  it("keeps another coverage's annotation beside its own (it is not this call's to drop)", () => {
    const other: Extension = { url: COVERAGE_INFORMATION, extension: [{ url: 'coverage', valueReference: { reference: 'Coverage/secondary' } }, { url: 'covered', valueCode: 'not-covered' }] };
    const [action] = actions({ ...draft, extension: [other] });
    expect(annotations(action?.resource).map((e) => e.extension?.[0]?.valueReference?.reference)).toEqual(['Coverage/secondary', 'Coverage/cov-1']);
  });
});
