/**
 * Medications named by reference: EHRs often send a prescription's or an administration's drug as
 * `medicationReference: { reference: 'Medication/123' }`, the drug's codes living in that Medication resource. The
 * service finds it (sent with the draft orders, included in a prefetch Bundle, or read from the fhirServer) and
 * copies it in as a contained Medication (into the record's resources, and into copies of the orders judged), so
 * every rule reads the drug the same way whichever way it was sent. Pure; the reads are done by data assembly.
 */
import type { Resource } from '@medplum/fhirtypes';
import { asJsonObject, freeContainedId, resourcesByReference, serverReferenceKey } from './json.js';
import type { JsonObject } from './json.js';

/** Resource types whose `medication[x]` may reference a Medication. */
const MEDICATION_USERS = new Set(['MedicationRequest', 'MedicationAdministration', 'MedicationStatement', 'MedicationDispense']);

/** A resource's `medicationReference`, when it has one. */
function medicationReferenceOf(resource: Resource): JsonObject | undefined {
  return asJsonObject((resource as unknown as JsonObject)['medicationReference']);
}

/** A text field (`reference`, `display`) of a resource's `medicationReference`, when it has one. */
function referenceField(resource: Resource, field: 'reference' | 'display'): string | undefined {
  const value = medicationReferenceOf(resource)?.[field];
  return typeof value === 'string' ? value : undefined;
}

/**
 * The Medication a resource references by `Medication/<id>`, as that key: relative, versioned, or absolute on the
 * server given. A contained `#id`, a logical identifier, or an absolute reference to another server gives none.
 * @param resource - any resource.
 * @param serverBase - the fhirServer whose absolute references count (without trailing slash).
 * @returns `Medication/<id>`, or undefined.
 */
export function medicationReferenceKey(resource: Resource, serverBase?: string): string | undefined {
  if (!MEDICATION_USERS.has(resource.resourceType)) return undefined;
  const reference = referenceField(resource, 'reference');
  return reference === undefined ? undefined : serverReferenceKey(reference, 'Medication', serverBase);
}

/**
 * Medications by their `Medication/<id>` key.
 * @param resources - resources of any type; only Medications with an id count.
 * @returns the Medications by key (the first of a duplicate wins).
 */
export function medicationsByKey(resources: Iterable<Resource>): Map<string, Resource> {
  return resourcesByReference(resources, 'Medication');
}

/**
 * The Medications that resources reference and that are not at hand, distinct, in the order first named.
 * @param resources - the resources that may reference Medications.
 * @param known - keys of the Medications already at hand.
 * @param serverBase - the fhirServer whose absolute references count.
 * @returns `Medication/<id>` keys.
 */
export function missingMedications(resources: Iterable<Resource>, known: ReadonlyMap<string, Resource>, serverBase?: string): string[] {
  const missing = new Set<string>();
  for (const r of resources) {
    const key = medicationReferenceKey(r, serverBase);
    if (key && !known.has(key)) missing.add(key);
  }
  return [...missing];
}

/**
 * The resources with each Medication they reference and that is at hand copied in as a contained Medication, the
 * reference pointing at it (its display kept). Resources without such a reference come back as they are; none is
 * changed in place.
 * @param resources - resources as read (a prefetch key's).
 * @param medications - the Medications at hand, by key.
 * @param serverBase - the fhirServer whose absolute references count.
 * @param byFullUrl - Medications of a Bundle by their entry's fullUrl (an absolute or `urn:uuid:` reference names
 *   one exactly, as Bundle references resolve).
 * @returns the resources, some of them copies.
 */
export function inlineMedications(
  resources: readonly Resource[],
  medications: ReadonlyMap<string, Resource>,
  serverBase?: string,
  byFullUrl: ReadonlyMap<string, Resource> = new Map()
): readonly Resource[] {
  if (medications.size === 0 && byFullUrl.size === 0) return resources;
  let changed = false;
  const out = resources.map((r) => {
    const key = medicationReferenceKey(r, serverBase);
    const medication = (key === undefined ? undefined : medications.get(key)) ?? byFullUrl.get(referenceField(r, 'reference') ?? '');
    if (!medication) return r;
    changed = true;
    const json = r as unknown as Record<string, unknown>;
    const contained = Array.isArray(json['contained']) ? (json['contained'] as unknown[]) : [];
    const id = freeContainedId(contained, medication.id ?? 'medication');
    const reference = { ...(medicationReferenceOf(r) ?? {}), reference: `#${id}` };
    return { ...json, contained: [...contained, { ...medication, id }], medicationReference: reference } as unknown as Resource;
  });
  return changed ? out : resources;
}

/**
 * The record's resources whose drug is known only by a reference to a Medication that could not be read (no
 * display beside it either): the checks that read them cannot name the drug. Per prefetch key, one line each.
 * @param resources - the record, per prefetch key.
 * @param unread - why a Medication could not be read, by `Medication/<id>`.
 * @param serverBase - the fhirServer whose absolute references count.
 * @returns per key, the lines naming each resource, its Medication and why it was not read.
 */
export function unnamedDrugs(resources: Readonly<Record<string, readonly Resource[]>>, unread: ReadonlyMap<string, string>, serverBase?: string): { key: string; lines: string[] }[] {
  if (unread.size === 0) return [];
  return Object.entries(resources).flatMap(([key, list]) => {
    const lines = list.flatMap((r) => {
      const medication = medicationReferenceKey(r, serverBase);
      const why = medication === undefined ? undefined : unread.get(medication);
      if (why === undefined || (referenceField(r, 'display') ?? '').trim() !== '') return [];
      return [`${r.resourceType}/${r.id ?? ''} names its drug only as ${medication ?? ''}, which could not be read (${why})`];
    });
    return lines.length > 0 ? [{ key, lines }] : [];
  });
}
