/**
 * Answers a filled prefetch query from a list of resources with Medplum's in-memory FHIR search matching: what a
 * FHIR server holding exactly those resources would return. Used to build fixture requests and rule test inputs.
 */
import { matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { ensureFhirDefinitions } from './definitions.js';

/**
 * Answers one query.
 * @param query - e.g. `Condition?patient=it-seed-a` or `Patient/it-seed-a`.
 * @param resources - everything the server would hold.
 * @returns a resource, a searchset Bundle, or null (read of a missing resource).
 */
export function answerQuery(query: string, resources: readonly Resource[]): Resource | null {
  if (!query.includes('?')) {
    const [type, id] = query.split('/');
    return resources.find((r) => r.resourceType === type && r.id === id) ?? null;
  }
  ensureFhirDefinitions();
  const request = parseSearchRequest(query);
  const matches = resources.filter((r) => r.resourceType === request.resourceType && matchesSearchRequest(r, request));
  return { resourceType: 'Bundle', type: 'searchset', total: matches.length, entry: matches.map((resource) => ({ resource })) };
}
