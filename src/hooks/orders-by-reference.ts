/**
 * Orders a call names by reference instead of sending them: order-dispatch's `dispatchedOrders`, and the
 * ServiceRequests appointment-book's Appointments are based on (CRD "Appointment with Order"). Each is taken from
 * what the call holds (a prefetch key, the appointments Bundle), else read from the fhirServer under the call's
 * deadline. They are what the call is about, so one that can be had neither way ends it with 412 naming its place,
 * as a required prefetch key does; one of another patient with 400.
 */
import type { Resource } from '@medplum/fhirtypes';
import { FhirFetchError, readResource } from '../fhir/fhir-client.js';
import type { FhirSource } from '../fhir/fhir-client.js';
import { otherPatientOf } from '../fhir/json.js';
import { badRequest, preconditionFailed } from '../http/outcomes.js';
import type { Problem } from '../http/outcomes.js';

/**
 * At most this many orders named by reference are read per call (those the call holds are not counted): a dispatch
 * names a refill and its supplies, a booking a visit or two, and each read is a call on the EHR's server made on the
 * client's say-so.
 */
export const MAX_ORDER_READS = 25;

/** An order named by reference (`Type/<id>`), and where the call names it (`context.dispatchedOrders[2]`). */
export interface NamedOrder {
  readonly reference: string;
  readonly where: string;
}

/** Where the orders not held may be read, and what to say when they cannot. */
export interface OrderSource {
  readonly get: () => FhirSource | undefined;
  /** Why nothing can be read (no fhirServer, or one the caller may not have read). */
  readonly unusable: string;
  /** What the orders are, in the message over the cap ("dispatched orders"). */
  readonly what: string;
  /** Where the call could have sent an order it did not ("no prefetch key holds it"). */
  readonly notSent: string;
  /** How to send the orders past the cap ("in a prefetch key"). */
  readonly sendInstead: string;
}

/**
 * The orders named, in the order first named (one named twice is had once; its problems name its first place).
 * @param named - the references with their places.
 * @param held - what the call holds, by `Type/<id>`.
 * @param patientId - the call's patient: an order of another is refused.
 * @param source - the fhirServer, and words for the problems.
 * @returns the orders.
 * @throws HttpError 412 naming each order that could not be had, or all past the cap (nothing is read then); 400
 *   naming each order of another patient.
 */
export async function ordersByReference(named: readonly NamedOrder[], held: ReadonlyMap<string, Resource>, patientId: string, source: OrderSource): Promise<Resource[]> {
  const seen = new Set<string>();
  const wanted = named.filter((n) => !seen.has(n.reference) && seen.add(n.reference));
  // Over the cap, nothing is read: the answer would lack orders the call is about, and the reads would be wasted.
  const beyond = wanted.filter((n) => !held.has(n.reference)).slice(MAX_ORDER_READS);
  if (beyond.length > 0) {
    throw preconditionFailed(beyond.map((n) => ({ code: 'too-costly', expression: n.where, message: `${n.reference} is needed: not read, the service reads at most ${String(MAX_ORDER_READS)} ${source.what} per call; send the rest ${source.sendInstead} or in another call` })));
  }
  const settled = await Promise.allSettled(
    wanted.map(async ({ reference }) => {
      const have = held.get(reference);
      if (have) return have;
      const from = source.get();
      if (!from) throw new FhirFetchError(`${source.notSent}, and ${source.unusable}`);
      const read = await readResource(reference, reference.split('/')[0] ?? '', from);
      if (!read) throw new FhirFetchError('the fhirServer has no such order');
      return read;
    })
  );
  const problems: Problem[] = settled.flatMap((result, i) =>
    result.status === 'rejected'
      ? [{ code: 'incomplete', expression: wanted[i]?.where, message: `${wanted[i]?.reference ?? ''} is needed: ${result.reason instanceof FhirFetchError ? result.reason.message : 'it could not be read'}` }]
      : []
  );
  if (problems.length > 0) throw preconditionFailed(problems);
  const orders = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  // An order of another patient would be judged against this patient's record, and annotated with its coverage.
  const others: Problem[] = orders.flatMap((order, i) => {
    const other = otherPatientOf(order, patientId);
    return other ? [{ code: 'value', expression: wanted[i]?.where, message: `${wanted[i]?.reference ?? ''} is for ${other}, not the context's patient (Patient/${patientId})` }] : [];
  });
  if (others.length > 0) throw badRequest(others);
  return orders;
}
