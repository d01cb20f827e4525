/**
 * A synchronous caller (the fixture query answerer) needs the R4 definitions while the steps are under way: it
 * indexes them itself, and the steps still complete. Own file: the definitions are indexed once per process.
 */
import { getSearchParameter, tryGetDataType } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { ensureFhirDefinitions, indexFhirDefinitionsInSteps } from './definitions.js';

describe('indexing the FHIR R4 definitions on demand', () => {
  it('indexes everything at once while the steps are under way; the steps then resolve', async () => {
    expect(tryGetDataType('Condition')).toBeUndefined();
    const steps = indexFhirDefinitionsInSteps();
    ensureFhirDefinitions();
    expect(tryGetDataType('Condition')?.elements['subject']).toBeDefined();
    expect(getSearchParameter('Observation', 'patient')).toBeDefined();
    await expect(steps).resolves.toBeUndefined();
    expect(tryGetDataType('Timing')).toBeDefined();
  });
});
