/** The SMART app's evaluation request, built from the fixtures' hook requests. */
import type { Patient, Resource } from '@medplum/fhirtypes';
import { DATA_VARIABLES } from '../../src/engine/pack-types.js';
import type { AppEvaluationRequest } from '../../src/smart/app-evaluation.js';
import { fixtureRequest } from './harness.js';

/**
 * The app's request body built from a fixture hook request: the same data the browser would read.
 * @param name - a file in fhir-fixtures/requests.
 * @param drop - record types the app did not get (not granted, or not on the server).
 * @returns the request.
 */
export function appRequestFrom(name: string, drop: string[] = []): AppEvaluationRequest {
  const body = fixtureRequest(name) as unknown as { prefetch: Record<string, Resource & { entry?: { resource: Resource }[] }>; context: { draftOrders: { entry: { resource: Resource }[] } } };
  const records: Record<string, Resource[]> = {};
  for (const key of DATA_VARIABLES.filter((v) => v !== 'patient')) {
    if (!drop.includes(key)) records[key] = (body.prefetch[key]?.entry ?? []).map((e) => e.resource);
  }
  return { patient: body.prefetch['patient'] as Patient, records, orders: body.context.draftOrders.entry.map((e) => e.resource) };
}
