/**
 * One-line, human descriptions of FHIR resources, for evidence on cards and in the app:
 * "Condition/123 (G89.4 Chronic pain syndrome, active)". Only what the resource says; nothing inferred. Resources
 * come from clients as sent, so every element is read defensively: a wrong type is left out, never a failure.
 */
import type { Resource } from '@medplum/fhirtypes';
import { asJsonObject, containedMedication } from '../fhir/json.js';
import { ucumCodeOf } from './units.js';
import type { JsonObject } from '../fhir/json.js';

type Json = JsonObject;
const obj = asJsonObject;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const day = (v: unknown): string | undefined => str(v)?.slice(0, 10);

/**
 * A CodeableConcept as a reader sees it: a coding's code and display (else the concept's text), else the text alone.
 * @param v - the concept, as sent.
 * @returns the text, or undefined when it says nothing.
 */
export function describeConcept(v: unknown): string | undefined {
  const cc = obj(v);
  if (!cc) return undefined;
  const codings = arr(cc['coding']).map(obj).filter((c): c is Json => c !== undefined);
  const coding = codings.find((c) => str(c['code'])) ?? codings[0];
  const code = str(coding?.['code']);
  if (code) return [code, str(coding?.['display']) ?? str(cc['text'])].filter(Boolean).join(' ');
  return str(cc['text']);
}

/** A concept's name for a reader (a route, say): its text, else a coding's display, else a code. */
function conceptName(v: unknown): string | undefined {
  const cc = obj(v);
  const codings = arr(cc?.['coding']).map(obj);
  return str(cc?.['text']) ?? codings.map((c) => str(c?.['display'])).find(Boolean) ?? codings.map((c) => str(c?.['code'])).find(Boolean);
}

function status(v: unknown): string | undefined {
  const cc = obj(v);
  return str(obj(arr(cc?.['coding'])[0])?.['code']) ?? str(cc?.['text']);
}

/**
 * A quantity with its unit's text, else its UCUM code (not an annotation such as `{score}`, nor the unity `1`); a
 * local code system's code means nothing to a reader and is left out.
 */
function quantity(v: unknown): string | undefined {
  const q = obj(v);
  const value = q?.['value'];
  const code = str(ucumCodeOf(q));
  const unit = str(q?.['unit']) ?? (code && !code.startsWith('{') && code !== '1' ? code : undefined);
  return typeof value === 'number' ? `${value}${unit ? ` ${unit}` : ''}` : undefined;
}

function period(v: unknown): string | undefined {
  const p = obj(v);
  const from = day(p?.['start']);
  const to = day(p?.['end']);
  // A period without an end (a certification that states none) still says when it began, and that no end is stated.
  return from && to ? `${from} to ${to}` : to ? `until ${to}` : from && `from ${from} (no end stated)`;
}

const PAS = 'http://hl7.org/fhir/us/davinci-pas/StructureDefinition/';

function extensionsOf(element: Json | undefined, url: string): Json[] {
  return arr(element?.['extension']).map(obj).filter((e): e is Json => e?.['url'] === url);
}

/** X12 306 action codes a Da Vinci PAS review action gives a line (HCR01), as a reader says them. */
const REVIEW_ACTIONS: Readonly<Record<string, string>> = {
  A1: 'certified in total',
  A2: 'certified in part',
  A3: 'not certified',
  A4: 'pended',
  A6: 'modified',
  C: 'cancelled',
  CT: 'contact payer',
  NA: 'no action required',
};

/**
 * A line's PAS review action (on its adjudication in PAS 2, on the line in PAS 1), with the review's number (X12
 * HCR02) and the payer's reasons for a denial or partial approval (sub-extension reasonCode, X12 HCR03) in
 * brackets: "not certified (no. AUTH-7; reason X1)", "no action required (no. RV-9)". Bracketed, the number does not
 * run into the action's words ("required no. RV-9" read as "required: no").
 */
function reviewAction(line: Json | undefined): string | undefined {
  const reviews = [...arr(line?.['adjudication']).map(obj), line].flatMap((e) => extensionsOf(e, `${PAS}extension-reviewAction`));
  const parts = reviews.flatMap((review) => {
    const subs = arr(review['extension']).map(obj);
    const coded = subs.find((p) => p?.['url'] === `${PAS}extension-reviewActionCode` || p?.['url'] === 'code');
    const code = str(obj(arr(obj(coded?.['valueCodeableConcept'])?.['coding'])[0])?.['code']);
    const number = str(subs.find((p) => p?.['url'] === 'number')?.['valueString']);
    const reasons = subs.filter((p) => p?.['url'] === 'reasonCode').map((p) => describeConcept(p?.['valueCodeableConcept'])).filter(Boolean);
    const notes = [number && `no. ${number}`, reasons.length > 0 && `reason ${reasons.join('; ')}`].filter(Boolean);
    return [code && (REVIEW_ACTIONS[code] ?? code), notes.length > 0 && `(${notes.join('; ')})`];
  });
  return parts.filter(Boolean).join(' ') || undefined;
}

/**
 * What a Da Vinci PAS response says per line, each with the codes the line names: its review action
 * (extension-reviewAction) and its period (extension-itemPreAuthPeriod): "J2274 certified in total (no. AUTH-7)
 * 2026-11-15 to 2027-05-14". A payer may certify the drug and not the supplies, or for different spans.
 */
function lineAuthorizations(r: Json): string[] {
  const lines = [...arr(r['item']), ...arr(r['addItem'])].map(obj);
  return lines.flatMap((line) => {
    const span = extensionsOf(line, `${PAS}extension-itemPreAuthPeriod`).map((e) => period(e['valuePeriod'])).find(Boolean);
    const review = reviewAction(line);
    if (!span && !review) return [];
    const detail = extensionsOf(line, `${PAS}extension-itemAuthorizedDetail`).flatMap((d) => extensionsOf(d, 'productOrServiceCode'));
    const codes = [obj(line?.['productOrService']), ...detail.map((d) => obj(d['valueCodeableConcept']))]
      .flatMap((cc) => arr(cc?.['coding']).map((c) => str(obj(c)?.['code'])))
      .filter((c): c is string => c !== undefined);
    // A PAS line that authorized what was asked names its service only in the Claim: say which item it answers.
    const sequence = line?.['itemSequence'];
    const named = [...new Set(codes)].join(' ') || (typeof sequence === 'number' ? `item ${sequence}` : undefined);
    return [named, review, span].filter(Boolean).join(' ');
  });
}

function medication(r: Json): string | undefined {
  const inline = describeConcept(r['medicationCodeableConcept']);
  if (inline) return inline;
  const ref = obj(r['medicationReference']);
  const target = str(ref?.['reference']);
  const contained = containedMedication(r);
  return str(obj(contained?.['code'])?.['text']) ?? describeConcept(contained?.['code']) ?? str(ref?.['display']) ?? target;
}

/**
 * The facts of a resource worth showing next to its reference.
 * @param resource - any FHIR resource, as a client sent it.
 * @returns a short text, without the reference.
 */
export function describeFacts(resource: Resource): string {
  const r = resource as unknown as Json;
  const parts: (string | undefined)[] = [];
  switch (resource.resourceType) {
    case 'Condition':
      parts.push(describeConcept(r['code']), status(r['clinicalStatus']), day(r['onsetDateTime']) && `since ${day(r['onsetDateTime']) ?? ''}`);
      break;
    case 'Device':
      parts.push(str(obj(arr(r['deviceName'])[0])?.['name']) ?? str(obj(r['type'])?.['text']) ?? describeConcept(r['type']), str(r['modelNumber']) && `model ${String(r['modelNumber'])}`, str(r['status']));
      break;
    case 'MedicationRequest':
      parts.push(medication(r), str(r['status']), day(r['authoredOn']));
      break;
    case 'MedicationAdministration': {
      const dosage = obj(r['dosage']);
      parts.push(medication(r), quantity(dosage?.['dose']), conceptName(dosage?.['route']), str(r['status']), day(r['effectiveDateTime']) ?? day(obj(r['effectivePeriod'])?.['start']));
      break;
    }
    case 'ServiceRequest':
      parts.push(describeConcept(r['code']), str(r['status']), day(r['authoredOn']));
      break;
    case 'DeviceRequest':
      parts.push(describeConcept(r['codeCodeableConcept']), str(r['status']), day(r['authoredOn']));
      break;
    case 'Appointment': {
      // Booked for its serviceType, or (CRD "Appointment with Order") for the ServiceRequest it is based on.
      const basis = arr(r['contained']).map(obj).find((c) => c?.['resourceType'] === 'ServiceRequest');
      parts.push(describeConcept(arr(r['serviceType'])[0]) ?? describeConcept(basis?.['code']), str(r['status']), day(r['start']) ?? day(obj(arr(r['requestedPeriod'])[0])?.['start']));
      break;
    }
    case 'Encounter':
      // The visit an encounter-start judges: its service, its state, the day it started.
      parts.push(
        describeConcept(r['serviceType']) ?? describeConcept(arr(arr(r['contained']).map(obj).find((c) => c?.['resourceType'] === 'Appointment')?.['serviceType'])[0]) ?? describeConcept(arr(r['type'])[0]),
        str(r['status']),
        day(obj(r['period'])?.['start'])
      );
      break;
    case 'Observation':
      parts.push(
        describeConcept(r['code']),
        quantity(r['valueQuantity']) ?? (typeof r['valueInteger'] === 'number' ? String(r['valueInteger']) : undefined) ?? str(r['valueString']) ?? describeConcept(r['valueCodeableConcept']),
        str(obj(r['method'])?.['text']),
        day(r['effectiveDateTime'])
      );
      break;
    case 'Procedure':
      parts.push(describeConcept(r['code']), str(r['status']), day(r['performedDateTime']) ?? day(obj(r['performedPeriod'])?.['start']));
      break;
    case 'Coverage':
      parts.push(describeConcept(r['type']), str(r['status']), str(obj(arr(r['payor'])[0])?.['display']));
      break;
    case 'ClaimResponse':
      parts.push(
        str(r['preAuthRef']) && `authorization ${String(r['preAuthRef'])}`,
        period(r['preAuthPeriod']),
        ...lineAuthorizations(r),
        str(r['outcome']),
        r['status'] === 'active' ? undefined : str(r['status']),
        str(obj(r['insurer'])?.['display']),
        str(r['disposition'])
      );
      break;
    case 'Patient':
      parts.push(day(r['birthDate']) && `born ${day(r['birthDate']) ?? ''}`);
      break;
    default:
      break;
  }
  return parts.filter((p): p is string => typeof p === 'string' && p !== '').join(', ');
}

/**
 * "Type/id (facts)".
 * @param reference - the resource's reference.
 * @param resource - the resource.
 * @returns the description.
 */
export function describeEvidence(reference: string, resource: Resource): string {
  const facts = describeFacts(resource);
  return facts ? `${reference} (${facts})` : reference;
}
