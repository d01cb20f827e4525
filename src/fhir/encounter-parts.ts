/**
 * What an encounter-start's Encounter says of the visit beyond its own codes (CRD Encounter profile, must-support):
 * the Appointment it was booked as (`appointment`) and the ServiceRequests it carries out (`basedOn`). An EHR that
 * codes its encounters with local visit types names the service there (a 95990 refill booked, ordered). Data
 * assembly reads them, best effort; the context copies those it has into the Encounter judged as contained
 * resources, so rules read a visit's service one way (`%orderServiceCode`). Pure.
 */
import type { Resource } from '@medplum/fhirtypes';
import { asJsonObject, freeContainedId, serverReferenceKey } from './json.js';
import type { JsonObject } from './json.js';

/** The elements that name the visit's parts, and the type each names. */
const PARTS = [
  ['appointment', 'Appointment'],
  ['basedOn', 'ServiceRequest'],
] as const;

/** At most this many parts of one Encounter are read (an encounter carries out a visit or two). */
export const MAX_ENCOUNTER_PARTS = 5;

function references(encounter: Resource, element: string): unknown[] {
  const value = (encounter as unknown as JsonObject)[element];
  return Array.isArray(value) ? value : [];
}

/**
 * The parts an Encounter names by reference to the record (relative, versioned, or absolute on the fhirServer), as
 * `Type/<id>`, each once, at most MAX_ENCOUNTER_PARTS.
 * @param encounter - the Encounter.
 * @param serverBase - the fhirServer whose absolute references count.
 * @returns the keys.
 */
export function encounterPartReferences(encounter: Resource, serverBase?: string): string[] {
  const keys = PARTS.flatMap(([element, type]) =>
    references(encounter, element).flatMap((ref) => {
      const reference = asJsonObject(ref)?.['reference'];
      const key = typeof reference === 'string' ? serverReferenceKey(reference, type, serverBase) : undefined;
      return key ? [key] : [];
    })
  );
  return [...new Set(keys)].slice(0, MAX_ENCOUNTER_PARTS);
}

/**
 * The Encounter with each part it names and that is at hand copied in as a contained resource, its reference
 * pointing there. Not changed in place; returned as is when none is at hand.
 * @param encounter - the Encounter.
 * @param parts - the parts at hand, by `Type/<id>`.
 * @param serverBase - the fhirServer whose absolute references count.
 * @returns the Encounter, or a copy.
 */
export function inlineEncounterParts(encounter: Resource, parts: ReadonlyMap<string, Resource>, serverBase?: string): Resource {
  if (parts.size === 0) return encounter;
  let json = encounter as unknown as JsonObject;
  for (const [element, type] of PARTS) {
    const refs = references(encounter, element);
    let changed = false;
    const held = json['contained'];
    const contained: unknown[] = Array.isArray(held) ? [...(held as unknown[])] : [];
    const rewritten = refs.map((ref) => {
      const reference = asJsonObject(ref)?.['reference'];
      const key = typeof reference === 'string' ? serverReferenceKey(reference, type, serverBase) : undefined;
      const part = key ? parts.get(key) : undefined;
      if (!part) return ref;
      const id = freeContainedId(contained, part.id ?? type.toLowerCase());
      contained.push({ ...part, id });
      changed = true;
      return { ...asJsonObject(ref), reference: `#${id}` };
    });
    if (changed) json = { ...json, contained, [element]: rewritten };
  }
  return json as unknown as Resource;
}
