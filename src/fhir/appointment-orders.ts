/**
 * The order an Appointment is booked for. Da Vinci CRD (STU 2.1) lets a client send appointment-book's Appointments
 * in two shapes: "Appointment no order", whose service is in the Appointment itself (`serviceType`), and "Appointment
 * with Order", whose service is in the ServiceRequest it is `basedOn`. That ServiceRequest may be contained in the
 * Appointment, sent beside it in the appointments Bundle, held by a prefetch key, or on the fhirServer (data assembly
 * reads it). Whichever way it came, it is copied into the Appointment judged as a contained ServiceRequest, the
 * `basedOn` pointing at it, so rules read an Appointment's service one way: `serviceType`, or
 * `contained.ofType(ServiceRequest).code`. Pure.
 */
import type { Resource } from '@medplum/fhirtypes';
import { asJsonObject, freeContainedId, serverReferenceKey } from './json.js';
import type { JsonObject } from './json.js';

/** One `basedOn` of an Appointment naming a ServiceRequest of the record, with where it stands. */
export interface AppointmentOrderReference {
  /** `ServiceRequest/<id>`. */
  readonly key: string;
  /** Which Appointment (its place among those given) and which `basedOn`. */
  readonly appointment: number;
  readonly basedOn: number;
}

const basedOnOf = (appointment: Resource): unknown[] => {
  const value = (appointment as unknown as JsonObject)['basedOn'];
  return Array.isArray(value) ? value : [];
};

/**
 * The ServiceRequests the Appointments are based on, by reference to the record (relative, versioned, or absolute on
 * the fhirServer); contained ones (`#id`) are in the Appointment already.
 * @param appointments - the resources booked (others, and an entry without one, are skipped).
 * @param serverBase - the fhirServer whose absolute references count.
 * @returns each reference with its place.
 */
export function appointmentOrderReferences(appointments: readonly (Resource | undefined)[], serverBase?: string): AppointmentOrderReference[] {
  return appointments.flatMap((appointment, i) =>
    appointment?.resourceType !== 'Appointment'
      ? []
      : basedOnOf(appointment).flatMap((ref, j) => {
          const reference = asJsonObject(ref)?.['reference'];
          const key = typeof reference === 'string' ? serverReferenceKey(reference, 'ServiceRequest', serverBase) : undefined;
          return key ? [{ key, appointment: i, basedOn: j }] : [];
        })
  );
}

/**
 * The Appointments, each ServiceRequest they are based on and that is at hand copied in as a contained one. Others
 * come back as they are; none is changed in place.
 * @param resources - the resources booked (only Appointments change).
 * @param orders - the ServiceRequests at hand, by `ServiceRequest/<id>`.
 * @param serverBase - the fhirServer whose absolute references count.
 * @returns the resources, some of them copies.
 */
export function inlineAppointmentOrders(resources: readonly Resource[], orders: ReadonlyMap<string, Resource>, serverBase?: string): readonly Resource[] {
  if (orders.size === 0) return resources;
  const found = appointmentOrderReferences(resources, serverBase).filter((r) => orders.has(r.key));
  if (found.length === 0) return resources;
  const out = [...resources];
  for (const ref of found) {
    const json = out[ref.appointment] as unknown as JsonObject;
    const contained: unknown[] = Array.isArray(json['contained']) ? json['contained'] : [];
    const order = orders.get(ref.key) as Resource;
    const id = freeContainedId(contained, order.id ?? 'order');
    const basedOn = basedOnOf(out[ref.appointment] as Resource).map((b, j) => (j === ref.basedOn ? { ...asJsonObject(b), reference: `#${id}` } : b));
    out[ref.appointment] = { ...json, contained: [...contained, { ...order, id }], basedOn } as unknown as Resource;
  }
  return out;
}
