/**
 * The R4 definitions indexed in steps, a worker thread parsing the resource definitions. Own file: the definitions
 * are indexed once per process, and this test must see them unindexed (definitions-on-demand.test.ts has the other case).
 */
import { getSearchParameter, tryGetDataType, validateResource } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { indexFhirDefinitionsInSteps } from './definitions.js';

describe('indexing the FHIR R4 definitions in steps', () => {
  it('indexes data types, resources and search parameters, once', async () => {
    expect(tryGetDataType('Condition')).toBeUndefined();
    const steps = indexFhirDefinitionsInSteps();
    expect(indexFhirDefinitionsInSteps()).toBe(steps);
    await steps;
    for (const type of ['Patient', 'Condition', 'Device', 'MedicationRequest', 'Observation', 'Procedure', 'Coverage', 'ServiceRequest', 'HumanName', 'CodeableConcept', 'Timing']) {
      expect(tryGetDataType(type), type).toBeDefined();
    }
    expect(getSearchParameter('Condition', 'patient')?.expression).toContain('Condition.subject');
    expect(() => validateResource({ resourceType: 'Condition', subject: { reference: 'Patient/p' }, onsetBanana: true } as never)).toThrow(/onsetBanana/);
    expect(validateResource({ resourceType: 'Condition', subject: { reference: 'Patient/p' } })).toEqual([]);
  });
});
