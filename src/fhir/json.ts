/**
 * Guards for JSON as clients send it, its canonical text, and the reference of a resource: the small helpers every
 * layer that reads untrusted FHIR JSON needs, kept in one place.
 */
import type { Resource } from '@medplum/fhirtypes';

/** A JSON object. */
export type JsonObject = Record<string, unknown>;

/**
 * Whether a value is a JSON object (not null, not an array).
 * @param value - any value.
 * @returns true for an object.
 */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The value as a JSON object, or undefined.
 * @param value - any value.
 * @returns the object, or undefined when it is not one.
 */
export function asJsonObject(value: unknown): JsonObject | undefined {
  return isJsonObject(value) ? value : undefined;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (isJsonObject(value)) return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  return value;
}

/**
 * JSON text with every object's keys in sorted order: the same for two values that differ only in key order (as a
 * server may store and send back what it was given).
 * @param value - a JSON value.
 * @returns its canonical text.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/**
 * Whether a value looks like a FHIR resource (an object with a non-empty resourceType).
 * @param value - any value.
 * @returns true for a resource.
 */
export function isResource(value: unknown): value is Resource {
  return isJsonObject(value) && typeof value['resourceType'] === 'string' && value['resourceType'] !== '';
}

/**
 * The Medication a resource (a MedicationRequest or MedicationAdministration) names by `medicationReference: '#id'`
 * and contains, as EHRs send a compounded or non-formulary drug; undefined when it names none or it is not there.
 * @param resource - the resource, as sent.
 * @returns the contained Medication, or undefined.
 */
export function containedMedication(resource: JsonObject): JsonObject | undefined {
  const ref = asJsonObject(resource['medicationReference'])?.['reference'];
  if (typeof ref !== 'string' || !ref.startsWith('#') || !Array.isArray(resource['contained'])) return undefined;
  for (const c of resource['contained']) {
    const m = asJsonObject(c);
    if (m?.['resourceType'] === 'Medication' && `#${String(m['id'])}` === ref) return m;
  }
  return undefined;
}

/**
 * The reference of a resource: `Type/id`, or `Type` alone when it has no id.
 * @param resource - the resource.
 * @returns the reference.
 */
export function referenceOf(resource: Resource): string {
  return resource.id ? `${resource.resourceType}/${resource.id}` : resource.resourceType;
}

/**
 * Resources by their `Type/id` reference, the first of a duplicate winning; those without an id are left out.
 * @param resources - resources of any type.
 * @param type - only this type, when given.
 * @returns the map.
 */
export function resourcesByReference(resources: Iterable<Resource>, type?: string): Map<string, Resource> {
  const byReference = new Map<string, Resource>();
  for (const r of resources) {
    if (r.id && (type === undefined || r.resourceType === type) && !byReference.has(referenceOf(r))) byReference.set(referenceOf(r), r);
  }
  return byReference;
}

/** `Type/<id>` at the end of a reference, relative or absolute, optionally versioned (`/_history/<v>`). */
const REFERENCE_TAIL = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/**
 * The id a reference names for a resource type: `Type/<id>` at its end, relative or absolute (the caller decides
 * whether the server matters), versioned or not. A contained `#id`, a `urn:uuid:` or another type gives none.
 * @param reference - a Reference.reference.
 * @param type - the resource type wanted.
 * @returns the id, or undefined.
 */
export function referencedId(reference: string, type: string): string | undefined {
  const match = REFERENCE_TAIL.exec(reference);
  return match?.[1] === type ? match[2] : undefined;
}

/**
 * The `Type/<id>` key of a reference to a resource of the record: relative (`Type/<id>`), versioned, or absolute on
 * the server given. A contained `#id`, a `urn:uuid:`, another type or an absolute reference to another server gives
 * none (such a resource is not on the server the service may read).
 * @param reference - a Reference.reference.
 * @param type - the resource type wanted.
 * @param serverBase - the fhirServer whose absolute references count (without trailing slash).
 * @returns `Type/<id>`, or undefined.
 */
export function serverReferenceKey(reference: string, type: string, serverBase?: string): string | undefined {
  if (reference.startsWith('#')) return undefined;
  const id = referencedId(reference, type);
  if (id === undefined) return undefined;
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(reference);
  if (absolute && (serverBase === undefined || !reference.startsWith(`${serverBase}/${type}/`))) return undefined;
  if (!absolute && !reference.startsWith(`${type}/`)) return undefined;
  return `${type}/${id}`;
}

/**
 * A contained id no other contained resource of the resource uses.
 * @param contained - the resource's contained resources.
 * @param wanted - the id wanted (the resource's own, usually).
 * @returns it, or it with a number added.
 */
export function freeContainedId(contained: readonly unknown[], wanted: string): string {
  const taken = new Set(contained.map((c) => String(asJsonObject(c)?.['id'])));
  let id = wanted;
  for (let n = 2; taken.has(id); n++) id = `${wanted}-${n}`;
  return id;
}

/**
 * The patient an order names that is not the call's: its subject (a Task's `for`, an Appointment's participant
 * actors) when that is a literal reference to another Patient, relative or absolute, versioned or not. Other forms
 * (a `urn:uuid:`, a contained resource, a display alone) say nothing either way and are let through.
 * @param order - an order (MedicationRequest, ServiceRequest, DeviceRequest, Task, ...) or an Appointment.
 * @param patientId - the call's context.patientId.
 * @returns the other patient's reference, or undefined.
 */
export function otherPatientOf(order: Resource, patientId: string): string | undefined {
  const holder = order as { subject?: { reference?: unknown }; for?: { reference?: unknown }; participant?: { actor?: { reference?: unknown } }[] };
  const references =
    order.resourceType === 'Appointment' ? (holder.participant ?? []).map((p) => p.actor?.reference) : [(order.resourceType === 'Task' ? holder.for : holder.subject)?.reference];
  return references.find((reference): reference is string => {
    const id = typeof reference === 'string' ? referencedId(reference, 'Patient') : undefined;
    return id !== undefined && id !== patientId;
  });
}
