import { describe, expect, it } from 'vitest';
import type { CriterionResult, Finding } from '../engine/evaluate.js';
import type { CoverageTemplate } from '../engine/pack-types.js';
import { findingCoverage, mergeCoverage } from './coverage-information.js';

const TEMPLATE: CoverageTemplate = { paNeeded: 'satisfied', satisfiedPaId: '{{authorizationNumber}}', reason: 'Authorization {{authorizationNumber}} until {{authorizationEnd}}.' };

function finding(results: Record<string, Partial<CriterionResult>>): Finding {
  const map = new Map(Object.entries(results).map(([name, r]) => [name, { name, description: name, evidence: [], truth: true, ...r }]));
  return { packId: 'p', packVersion: '1', rule: { coverage: TEMPLATE } as Finding['rule'], results: map, evidence: [] };
}

describe('findingCoverage', () => {
  it("fills the reason and the authorization number from the finding's criteria", () => {
    const filled = findingCoverage(finding({ authorizationNumber: { value: ['8300417'] }, authorizationEnd: { value: ['2027-11-17'] } }));
    expect(filled).toEqual({ paNeeded: 'satisfied', satisfiedPaId: '8300417', reason: 'Authorization 8300417 until 2027-11-17.' });
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
    const satisfied: CoverageTemplate = { paNeeded: 'satisfied', satisfiedPaId: '8300417', reason: 'on file' };
    expect(mergeCoverage([satisfied, { paNeeded: 'no-auth', reason: 'ffs' }]).satisfiedPaId).toBe('8300417');
    const stricter = mergeCoverage([satisfied, { paNeeded: 'conditional', reason: 'plan' }]);
    expect(stricter.paNeeded).toBe('conditional');
    expect(stricter.satisfiedPaId).toBeUndefined();
  });
});
