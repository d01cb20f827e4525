/**
 * Checks the draft orders for the shape the rules rely on. An order broken in a way that changes its meaning (a
 * MedicationRequest naming no medication, a medication reference that resolves to nothing, a quantity that is not
 * a number) cannot be judged; the answer says so instead of passing it over in silence.
 */
import type { Resource } from '@medplum/fhirtypes';
import { containedMedication, isJsonObject } from './json.js';
import { medicationReferenceKey } from './medication-references.js';
import type { JsonObject } from './json.js';

/** An order that cannot be evaluated, and why. */
export interface UnevaluableOrder {
  readonly order: Resource;
  readonly reasons: readonly string[];
}

const notNumber = (v: unknown): boolean => v !== undefined && (typeof v !== 'number' || !Number.isFinite(v));

/** Why a medication reference that is neither contained nor `Medication/<id>` on the fhirServer cannot be read. */
function unreadableReference(ref: string, serverBase: string | undefined): string {
  if (/^urn:(uuid|oid):/i.test(ref)) return 'no entry of the draft orders has it as its fullUrl';
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) {
    return serverBase === undefined
      ? 'it is an absolute URL, and the request names no fhirServer'
      : 'it is not a Medication on the fhirServer, which is the only server the service reads';
  }
  return 'it is not a reference of the form Medication/<id>';
}

function medicationRequestProblems(order: JsonObject, unread: ReadonlyMap<string, string>, serverBase: string | undefined): string[] {
  const problems: string[] = [];
  const concept = order['medicationCodeableConcept'];
  const reference = order['medicationReference'];
  if (concept === undefined && reference === undefined) problems.push('it names no medication (medicationCodeableConcept or medicationReference)');
  if (concept !== undefined && (!isJsonObject(concept) || (!Array.isArray(concept['coding']) && typeof concept['text'] !== 'string'))) {
    problems.push('its medicationCodeableConcept has neither a coding nor a text');
  }
  if (reference !== undefined) {
    const ref = isJsonObject(reference) ? reference['reference'] : undefined;
    if (typeof ref !== 'string') problems.push('its medicationReference has no reference');
    else if (ref.startsWith('#')) {
      if (!containedMedication(order)) problems.push(`its medication ${ref} is not contained in the order`);
    } else {
      // The orders judged have every Medication at hand contained; a reference left is one nobody could resolve.
      const key = medicationReferenceKey(order as unknown as Resource, serverBase);
      const why = key === undefined ? unreadableReference(ref, serverBase) : unread.get(key);
      problems.push(`its medication ${ref} is neither contained nor sent with the draft orders${why ? `, and could not be read (${why})` : ''}`);
    }
  }
  const dispense = isJsonObject(order['dispenseRequest']) ? order['dispenseRequest'] : {};
  const quantity = isJsonObject(dispense['quantity']) ? dispense['quantity'] : {};
  const duration = isJsonObject(dispense['expectedSupplyDuration']) ? dispense['expectedSupplyDuration'] : {};
  if (notNumber(quantity['value'])) problems.push('its dispense quantity is not a number');
  if (notNumber(duration['value'])) problems.push('its expected supply duration is not a number');
  const dosages = Array.isArray(order['dosageInstruction']) ? (order['dosageInstruction'] as unknown[]) : [];
  for (const d of dosages) {
    const rates = isJsonObject(d) && Array.isArray(d['doseAndRate']) ? (d['doseAndRate'] as unknown[]) : [];
    for (const r of rates) {
      if (!isJsonObject(r)) continue;
      for (const field of ['doseQuantity', 'rateQuantity']) {
        const q = r[field];
        if (isJsonObject(q) && notNumber(q['value'])) problems.push(`a ${field} of its dosage is not a number`);
      }
    }
  }
  return problems;
}

/**
 * Finds the draft orders that cannot be evaluated.
 * @param orders - the orders being judged, with the Medications at hand contained (see engine/context.ts).
 * @param unread - why a referenced Medication could not be read, by `Medication/<id>`.
 * @param serverBase - the request's fhirServer (its absolute references name a Medication the service may read).
 * @returns the unevaluable orders with their reasons.
 */
export function unevaluableOrders(orders: readonly Resource[], unread: ReadonlyMap<string, string> = new Map(), serverBase?: string): UnevaluableOrder[] {
  return orders.flatMap((order) => {
    const json = order as unknown as JsonObject;
    let reasons: string[] = [];
    if (order.resourceType === 'MedicationRequest') reasons = medicationRequestProblems(json, unread, serverBase);
    else if (order.resourceType === 'ServiceRequest' && json['code'] === undefined) reasons = ['it names no service (code)'];
    else if (order.resourceType === 'DeviceRequest' && json['codeCodeableConcept'] === undefined && json['codeReference'] === undefined) reasons = ['it names no device (code)'];
    return reasons.length > 0 ? [{ order, reasons }] : [];
  });
}
