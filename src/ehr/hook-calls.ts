/**
 * The embedded EHR calls the service's hooks as an EHR does when a clinician selects a pending order (order-select),
 * signs the pending orders (order-sign), sends them to the pharmacy (order-dispatch), books a refill visit
 * (appointment-book) or starts one (encounter-start): over HTTP, with its FHIR server's address and without prefetch (the service reads the record
 * from that server, as it does for an EHR that grants a token instead of prefetching); the answer is shown by
 * cards-page.ts. Development only: the calls carry no JWT, which only a service serving unauthenticated calls answers.
 */
import { randomUUID } from 'node:crypto';
import { Operator } from '@medplum/core';
import type { Appointment, Encounter, Resource } from '@medplum/fhirtypes';
import type { EmbeddedFhir } from '../fhir/embedded-server.js';
import type { HookName } from '../hooks/types.js';

/** The hook service the embedded EHR calls when orders are signed. */
export const ORDER_SIGN_SERVICE = 'intrathecal-order-sign';

/** The hook service the embedded EHR calls when a pending order is selected. */
export const ORDER_SELECT_SERVICE = 'intrathecal-order-select';

/** The hook service the embedded EHR calls when orders are sent to the pharmacy. */
export const ORDER_DISPATCH_SERVICE = 'intrathecal-order-dispatch';

/** The hook service the embedded EHR calls when a visit starts. */
export const ENCOUNTER_START_SERVICE = 'intrathecal-encounter-start';

/** Who the embedded EHR sends orders to: the fixtures' home-infusion pharmacy (as the order-dispatch examples). */
export const PHARMACY = 'Organization/it-home-infusion-pharmacy';

/** The hook service the embedded EHR calls when a visit is booked. */
export const APPOINTMENT_BOOK_SERVICE = 'intrathecal-appointment-book';

/** The services whose cards the EHR's page shows, and so takes overrides for. */
export const EHR_SERVICES: ReadonlySet<string> = new Set([ORDER_SELECT_SERVICE, ORDER_SIGN_SERVICE, ORDER_DISPATCH_SERVICE, APPOINTMENT_BOOK_SERVICE, ENCOUNTER_START_SERVICE]);

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
export interface ServiceAnswer {
  readonly status: number;
  readonly body: unknown;
}

async function post(url: string, body: unknown): Promise<ServiceAnswer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** Who and for whom a hook is called: the service's base URL, the signed-in user, the patient. */
export interface HookCaller {
  readonly publicBaseUrl: string;
  /** `Practitioner/<id>`. */
  readonly user: string;
  readonly patient: string;
  /** Fills the service's prefetch for the call (prefetch.ts); without it, the call carries none. */
  readonly prefetch?: (service: string, hook: HookName, context: Record<string, unknown>) => Promise<Record<string, unknown>>;
}

/** Builds the hook request (with its prefetch when the caller fills one) and sends it to the service. */
async function callHook(service: string, hook: HookName, caller: HookCaller, fields: Record<string, unknown>): Promise<ServiceAnswer> {
  // order-dispatch's context has no userId (the order was signed before; whoever sends it is not named).
  const context = { ...(hook === 'order-dispatch' ? {} : { userId: caller.user }), patientId: caller.patient, ...fields };
  const prefetch = caller.prefetch ? await caller.prefetch(service, hook, context) : undefined;
  const request = { hook, hookInstance: randomUUID(), fhirServer: `${caller.publicBaseUrl}/fhir`, context, ...(prefetch ? { prefetch } : {}) };
  return post(`${caller.publicBaseUrl}/cds-services/${service}`, request);
}

const collection = (resources: readonly unknown[]) => ({ resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) });

/**
 * Calls the order-sign hook for a patient's draft orders.
 * @param orders - the draft orders.
 * @param caller - base URL, user, patient.
 * @returns the answer.
 */
export function signOrders(orders: readonly Resource[], caller: HookCaller): Promise<ServiceAnswer> {
  return callHook(ORDER_SIGN_SERVICE, 'order-sign', caller, { draftOrders: collection(orders) });
}

/**
 * Calls the order-select hook: the clinician selected one of the patient's pending orders.
 * @param orders - the pending orders (draftOrders).
 * @param selected - the selected one's reference, `Type/id`, among them.
 * @param caller - base URL, user, patient.
 * @returns the answer.
 */
export function selectOrder(orders: readonly Resource[], selected: string, caller: HookCaller): Promise<ServiceAnswer> {
  return callHook(ORDER_SELECT_SERVICE, 'order-select', caller, { selections: [selected], draftOrders: collection(orders) });
}

/**
 * Calls the order-dispatch hook: the orders are sent to the pharmacy, which the service finds on the EHR's FHIR
 * server by their references.
 * @param orders - the orders' references, `Type/id`.
 * @param caller - base URL, user, patient.
 * @returns the answer.
 */
export function dispatchOrders(orders: readonly string[], caller: HookCaller): Promise<ServiceAnswer> {
  return callHook(ORDER_DISPATCH_SERVICE, 'order-dispatch', caller, { dispatchedOrders: orders, performer: PHARMACY });
}

/**
 * A pump refill and maintenance visit (CPT 95990) proposed four weeks from now, as a scheduler books it.
 * @param caller - user and patient.
 * @param now - the time of booking.
 * @returns the Appointment, not stored.
 */
export function refillVisit(caller: HookCaller, now: Date): Appointment {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 28, 9));
  return {
    resourceType: 'Appointment',
    id: `refill-visit-${randomUUID().slice(0, 8)}`,
    status: 'proposed',
    serviceType: [{ coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '95990', display: 'Refilling and maintenance of implantable pump or reservoir for drug delivery, spinal or brain' }] }],
    start: start.toISOString(),
    end: new Date(start.getTime() + 30 * 60_000).toISOString(),
    participant: [{ actor: { reference: `Patient/${caller.patient}` }, status: 'accepted' }, { actor: { reference: caller.user }, status: 'accepted' }],
  };
}

/**
 * Calls the appointment-book hook for a visit.
 * @param visit - the Appointment being booked.
 * @param caller - base URL, user, patient.
 * @returns the answer.
 */
export function bookVisit(visit: Appointment, caller: HookCaller): Promise<ServiceAnswer> {
  return callHook(APPOINTMENT_BOOK_SERVICE, 'appointment-book', caller, { appointments: collection([visit]) });
}

/**
 * A pump refill and maintenance visit (CPT 95990) starting now, as the front desk checks the patient in: an
 * ambulatory Encounter in progress, its service in serviceType (CRD Encounter profile).
 * @param caller - user and patient.
 * @param now - the time of check-in.
 * @returns the Encounter, without an id (the EHR's server gives it one when it is stored).
 */
export function refillEncounter(caller: HookCaller, now: Date): Encounter {
  return {
    resourceType: 'Encounter',
    status: 'in-progress',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
    serviceType: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '95990', display: 'Refilling and maintenance of implantable pump or reservoir for drug delivery, spinal or brain' }] },
    subject: { reference: `Patient/${caller.patient}` },
    participant: [{ individual: { reference: caller.user } }],
    period: { start: now.toISOString() },
  };
}

/**
 * Calls the encounter-start hook for a visit the EHR holds (the service reads it, or gets it as prefetch).
 * @param encounterId - the Encounter's id on the EHR's server.
 * @param caller - base URL, user, patient.
 * @returns the answer.
 */
export function startVisit(encounterId: string, caller: HookCaller): Promise<ServiceAnswer> {
  return callHook(ENCOUNTER_START_SERVICE, 'encounter-start', caller, { encounterId });
}

/** A clinician's override of a card, as the EHR page takes it. */
export interface Override {
  /** The service whose card it is. */
  readonly service: string;
  readonly card: string;
  readonly reason?: { system?: string; code: string; display?: string };
  readonly comment?: string;
}

/**
 * Sends the override of a card to the service's feedback endpoint (https://cds-hooks.hl7.org/2.0/#feedback).
 * @param override - the service, the card, the reason chosen, the comment written.
 * @param publicBaseUrl - where the service answers.
 * @param now - when the clinician overrode it.
 * @returns the answer.
 */
export function sendOverride(override: Override, publicBaseUrl: string, now: Date): Promise<ServiceAnswer> {
  const overrideReason = { ...(override.reason ? { reason: override.reason } : {}), ...(override.comment ? { userComment: override.comment } : {}) };
  return post(`${publicBaseUrl}/cds-services/${override.service}/feedback`, { feedback: [{ card: override.card, outcome: 'overridden', overrideReason, outcomeTimestamp: now.toISOString() }] });
}

/**
 * Tells the service a suggestion of a card was accepted (https://cds-hooks.hl7.org/2.0/#feedback), after the EHR
 * applied its actions.
 * @param accepted - the service, the card and the suggestion's uuid.
 * @param publicBaseUrl - where the service answers.
 * @param now - when the clinician accepted it.
 * @returns the answer.
 */
export function sendAcceptance(accepted: { readonly service: string; readonly card: string; readonly uuid: string }, publicBaseUrl: string, now: Date): Promise<ServiceAnswer> {
  return post(`${publicBaseUrl}/cds-services/${accepted.service}/feedback`, { feedback: [{ card: accepted.card, outcome: 'accepted', acceptedSuggestions: [{ id: accepted.uuid }], outcomeTimestamp: now.toISOString() }] });
}
