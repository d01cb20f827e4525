/**
 * The payer type of a recorded call, for the feedback report's split by payer: the type of the active Coverage the
 * call carried (prefetched) or the service read from the EHR for it (the call's `fetched` reads), as the Coverage
 * codes it (`type`, in the fixtures and most US EHRs the Source of Payment Typology: `5 PRIVATE HEALTH INSURANCE`,
 * `11 MEDICARE (Managed Care)`). Read as written, not classified: the report groups what the records say.
 */
import { describeConcept } from '../engine/describe.js';
import { asJsonObject as obj } from '../fhir/json.js';
import type { JsonObject as Json } from '../fhir/json.js';
import type { StoredInvocation } from '../store/audit-store.js';

/** What the report says of a call with no active Coverage in it. */
export const NO_COVERAGE = '(no active coverage in the call)';

const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The resources of a prefetch value or a read's body: a Bundle's entries, or the resource itself. */
function resourcesIn(value: unknown): Json[] {
  const o = obj(value);
  if (!o) return [];
  if (o['resourceType'] !== 'Bundle') return [o];
  return arr(o['entry']).flatMap((e): Json[] => {
    const resource = obj(obj(e)?.['resource']);
    return resource ? [resource] : [];
  });
}

/**
 * The payer type of a call.
 * @param row - the call as the audit log holds it.
 * @returns the types of its active Coverages, joined with ` + `; NO_COVERAGE when it had none (or none coded).
 */
export function payerOf(row: StoredInvocation): string {
  const prefetched = obj(obj(row.request)?.['prefetch'])?.['coverages'];
  const read = arr(obj(row.fetched)?.['reads']).flatMap((r) => {
    const url = obj(r)?.['url'];
    return typeof url === 'string' && url.includes('/Coverage') ? [obj(r)?.['body']] : [];
  });
  const types = [prefetched, ...read]
    .flatMap(resourcesIn)
    .filter((r) => r['resourceType'] === 'Coverage' && (r['status'] === undefined || r['status'] === 'active'))
    .flatMap((c) => describeConcept(c['type']) ?? []);
  return types.length === 0 ? NO_COVERAGE : [...new Set(types)].sort().join(' + ');
}
