/**
 * The embedded EHR signs a patient's pending orders as an EHR does: it calls the service's order-sign hook over HTTP
 * with the draft orders and its FHIR server's address, without prefetch (the service reads the record from that
 * server, as it does for an EHR that grants a token instead of prefetching), and shows the answer (cards-page.ts).
 * Development only: the call carries no JWT, which only a service serving unauthenticated calls answers.
 */
import { randomUUID } from 'node:crypto';
import { Operator } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { EmbeddedFhir } from '../fhir/embedded-server.js';

/** The hook service the embedded EHR calls when orders are signed. */
export const ORDER_SIGN_SERVICE = 'intrathecal-order-sign';

/** The longest the page waits for the service's answer. */
const ANSWER_TIMEOUT_MS = 10_000;

/**
 * The orders an EHR would have pending for a patient: draft MedicationRequests and ServiceRequests.
 * @param fhir - the embedded FHIR server.
 * @param patient - the patient's id.
 * @returns the draft orders.
 */
export async function draftOrders(fhir: EmbeddedFhir, patient: string): Promise<Resource[]> {
  const orders: Resource[] = [];
  for (const type of ['MedicationRequest', 'ServiceRequest'] as const) {
    const bundle = await fhir.repo.search<Resource>({ resourceType: type, filters: [{ code: 'patient', operator: Operator.EQUALS, value: patient }, { code: 'status', operator: Operator.EQUALS, value: 'draft' }] });
    for (const e of bundle.entry ?? []) if (e.resource) orders.push(e.resource);
  }
  return orders;
}

/** What the service answered: its HTTP status and body (a hook response, or an OperationOutcome). */
export interface SignAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * Calls the order-sign hook for a patient's draft orders.
 * @param orders - the draft orders.
 * @param patient - the patient's id.
 * @param publicBaseUrl - where the service answers.
 * @param user - the signing user (`Practitioner/<id>`).
 * @returns the answer.
 */
export async function signOrders(orders: readonly Resource[], patient: string, publicBaseUrl: string, user: string): Promise<SignAnswer> {
  const request = {
    hook: 'order-sign',
    hookInstance: randomUUID(),
    fhirServer: `${publicBaseUrl}/fhir`,
    context: { userId: user, patientId: patient, draftOrders: { resourceType: 'Bundle', type: 'collection', entry: orders.map((resource) => ({ resource })) } },
  };
  const res = await fetch(`${publicBaseUrl}/cds-services/${ORDER_SIGN_SERVICE}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(request),
    signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** A clinician's override of a card, as the EHR page takes it. */
export interface Override {
  readonly card: string;
  readonly reason?: { system?: string; code: string; display?: string };
  readonly comment?: string;
}

/**
 * Sends the override of a card to the service's feedback endpoint (https://cds-hooks.hl7.org/2.0/#feedback).
 * @param override - the card, the reason chosen, the comment written.
 * @param publicBaseUrl - where the service answers.
 * @param now - when the clinician overrode it.
 * @returns the answer.
 */
export async function sendOverride(override: Override, publicBaseUrl: string, now: Date): Promise<SignAnswer> {
  const overrideReason = { ...(override.reason ? { reason: override.reason } : {}), ...(override.comment ? { userComment: override.comment } : {}) };
  const res = await fetch(`${publicBaseUrl}/cds-services/${ORDER_SIGN_SERVICE}/feedback`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ feedback: [{ card: override.card, outcome: 'overridden', overrideReason, outcomeTimestamp: now.toISOString() }] }),
    signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}
