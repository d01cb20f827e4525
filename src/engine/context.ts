/**
 * From a checked hook request and its assembled data to the engine's EvaluationContext.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { EvaluationInput } from '../hooks/handle-hook.js';
import { ENCOUNTER_KEY, PATIENT_HOOKS } from '../hooks/types.js';
import type { EvaluationContext } from './evaluate.js';
import { inlineAppointmentOrders } from '../fhir/appointment-orders.js';
import { inlineEncounterParts } from '../fhir/encounter-parts.js';
import { otherPatientOf, referenceOf, resourcesByReference } from '../fhir/json.js';
import { inlineMedications, medicationsByKey } from '../fhir/medication-references.js';
import { DATA_VARIABLES, ORDER_TYPES } from './pack-types.js';

/** The context of a hook call, with the orders as the client sent them (what the coverage-information echoes). */
export interface HookContext extends EvaluationContext {
  /** For each order judged that the context copied (to put its Medication in), the order as sent. */
  readonly asSent: ReadonlyMap<Resource, Resource>;
}

/**
 * A record without the orders under review: an order the record also holds (an active order dispatched, or named
 * by the SMART app) is judged, not counted as its own earlier fill, as a draft on order-sign never is. Orders without
 * an id take nothing out.
 * @param resources - the record's resources of one kind.
 * @param orders - the orders under review.
 * @returns the resources that are not among them (the same array when there are none to take out).
 */
export function withoutOrders(resources: readonly Resource[], orders: readonly Resource[]): readonly Resource[] {
  const judged = new Set(orders.flatMap((o) => (o.id ? [referenceOf(o)] : [])));
  return judged.size === 0 ? resources : resources.filter((r) => !judged.has(referenceOf(r)));
}

/**
 * Builds the evaluation context: data variables from the prefetch keys of the same name (a key the service does
 * not declare, or could not have, is not known), and the orders to judge per hook (order-dispatch's are the orders
 * it names, read with the record; appointment-book's the Appointments booked; encounter-start's the Encounter it
 * names, prefetched or read as its `encounter` key, the visit starting). Every reference to a
 * Medication that is at hand (sent with the draft orders, included in a prefetch Bundle, or read by the service),
 * whether relative, versioned, absolute on the fhirServer or a draftOrders entry's fullUrl, is resolved into a
 * contained Medication, in the record's resources and in the orders judged alike, so rules read every drug one way.
 * @param input - service, request, assembled data and time.
 * @returns the context, and the orders as sent.
 */
export function contextFromInput(input: EvaluationInput): HookContext {
  // appointment-book's Appointments are judged as orders are (a refill visit is booked for the pump's service).
  const booking = input.service.hook === 'appointment-book';
  const entries = (booking ? input.request.context.appointments : input.request.context.draftOrders)?.entry ?? [];
  // order-dispatch names existing orders instead of sending drafts: they were read with the record, and stand in
  // for the draft orders (%draftOrders, the orders judged, what the coverage-information echoes), and are taken out
  // of the record (withoutOrders).
  const dispatched = input.data.dispatchedOrders;
  // encounter-start's visit: the Encounter its context names (a pump refill visit is judged as its booking was); one
  // of another patient (an integration fault) is not judged against this patient's record.
  const visit = input.service.hook === 'encounter-start';
  const { encounterId, patientId } = input.request.context;
  const encounter = (input.data.resources[ENCOUNTER_KEY] ?? []).filter((r) => r.resourceType === 'Encounter' && r.id === encounterId && !otherPatientOf(r, patientId));
  const sent: Resource[] = dispatched ? [...dispatched] : visit ? encounter : entries.flatMap((e) => (e.resource ? [e.resource] : []));
  const medications = medicationsByKey([...sent, ...(input.data.medications ?? [])]);
  const byFullUrl = new Map(entries.flatMap((e) => (e.fullUrl && e.resource?.resourceType === 'Medication' ? [[e.fullUrl, e.resource]] : [])));
  const base = input.request.fhirServer;
  const data: EvaluationContext['data'] = Object.fromEntries(
    DATA_VARIABLES.flatMap((v) => {
      const resources = input.data.resources[v];
      return resources !== undefined ? [[v, inlineMedications(withoutOrders(resources, dispatched ?? []), medications, base)]] : [];
    })
  );
  // The orders are judged as copies with their Medication contained (and an Appointment with the ServiceRequest it
  // is based on); the coverage-information action echoes the order as sent, so the copies are mapped back to it.
  const withMedications = inlineMedications(sent, medications, base, byFullUrl);
  // The visit an encounter-start judges, with the Appointment and ServiceRequests it names contained when they could
  // be had (encounter-parts.ts).
  const parts = resourcesByReference(input.data.encounterParts ?? []);
  const draftOrders = booking
    ? inlineAppointmentOrders(withMedications, resourcesByReference([...sent, ...(input.data.appointmentOrders ?? [])], 'ServiceRequest'), base)
    : visit ? withMedications.map((r) => inlineEncounterParts(r, parts, base)) : withMedications;
  const asSent = new Map<Resource, Resource>();
  draftOrders.forEach((r, i) => {
    const original = sent[i];
    if (original && r !== original) asSent.set(r, original);
  });
  const selections = input.request.context.selections;
  // Medications and other supporting entries of draftOrders are context, not orders to judge; on appointment-book
  // the Appointments are judged, not the ServiceRequests sent beside them.
  const orders = draftOrders.filter((r) => (booking ? r.resourceType === 'Appointment' : visit ? r.resourceType === 'Encounter' : ORDER_TYPES.has(r.resourceType)));
  const ordersToJudge = visit ? orders : PATIENT_HOOKS.has(input.service.hook) ? [] : selections ? orders.filter((o) => selections.includes(referenceOf(o))) : orders;
  return { hook: input.service.hook, data, draftOrders, ordersToJudge, now: input.now, asSent };
}
