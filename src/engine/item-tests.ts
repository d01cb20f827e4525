/**
 * What the pack's own FHIRPath functions (codedIn, textMatches, clinicallyActive, inValueSet, daysTo, latest,
 * grouped, yesNo) test about or make of their input, in plain JavaScript over FHIR JSON; unitCode's table is in units.ts.
 * Shared by the fhirpath.js function table and the native engine.
 */
import type { Coding } from '@medplum/fhirtypes';
import { asJsonObject, containedMedication } from '../fhir/json.js';
import type { JsonObject } from '../fhir/json.js';
import { codingsOf } from './value-sets.js';

/**
 * A number as text with a comma between each group of three digits before the decimal point ("4,800", "986.3"),
 * digits as JavaScript writes them otherwise; so card lines write 1,000 and above as the placeholders do.
 * @param n - the number.
 * @returns its text.
 */
export function groupDigits(n: number): string {
  const text = String(n);
  if (!/^-?\d+(\.\d+)?$/.test(text)) return text;
  const [whole = '', fraction] = text.split('.');
  return whole.replace(/\B(?=(\d{3})+$)/g, ',') + (fraction === undefined ? '' : `.${fraction}`);
}

/**
 * A truth as a card line writes it: "yes", "no", or "not known" for no answer (missing data); undefined for anything
 * that is not one boolean or nothing.
 * @param items - the input collection, its items as plain values.
 * @returns the text, or undefined.
 */
export function yesNoOf(items: readonly unknown[]): string | undefined {
  if (items.length === 0) return 'not known';
  const [only] = items;
  return items.length === 1 && typeof only === 'boolean' ? (only ? 'yes' : 'no') : undefined;
}

/** A FHIR dateTime with a time and no zone (the specification asks for one): read as UTC, whatever the machine's zone. */
const ZONELESS_TIME = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/**
 * The moment a FHIR date, dateTime or instant text stands for, in milliseconds since the epoch: a year or a month is
 * its first day, a date its midnight UTC, a time without a zone UTC. Undefined for anything else.
 */
function instantMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.length === 4 ? `${value}-01-01` : value.length === 7 ? `${value}-01` : ZONELESS_TIME.test(value) ? `${value}Z` : value;
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Which of some items is the latest by one of its date elements (`latest('authoredOn')`): the one whose element is
 * the latest moment (dates of different precision and zones compared as moments, a date as its midnight UTC); of
 * items equally late, the last. Items without the element, or with one that is not a date, are not candidates.
 * @param items - the items as plain JSON.
 * @param element - the element's JSON name.
 * @returns the index of the latest item, or undefined when none has the element.
 */
export function latestIndex(items: readonly unknown[], element: string): number | undefined {
  let best: number | undefined;
  let bestMs = Number.NEGATIVE_INFINITY;
  items.forEach((item, i) => {
    const ms = instantMs(asJsonObject(item)?.[element]);
    if (ms !== undefined && ms >= bestMs) {
      best = i;
      bestMs = ms;
    }
  });
  return best;
}

/** Days since the epoch of a FHIRPath date/dateTime value, a string or a Date; undefined when it is none. */
export function epochDays(value: unknown): number | undefined {
  const text = typeof value === 'string' ? value : (value as { asStr?: unknown } | null)?.asStr;
  if (typeof text !== 'string') return undefined;
  const ms = Date.parse(text.length === 7 ? `${text}-01` : text.length === 4 ? `${text}-01-01` : text);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 86_400_000);
}

const asObject = asJsonObject;
const CODED_ELEMENTS = ['code', 'medicationCodeableConcept', 'type', 'valueCodeableConcept', 'codeCodeableConcept'];

/** The concepts of a Medication: its code and its ingredients' items. */
function medicationConcepts(m: JsonObject): unknown[] {
  const ingredients = Array.isArray(m['ingredient']) ? m['ingredient'] : [];
  return [m['code'], ...ingredients.map((i) => asObject(i)?.['itemCodeableConcept'])];
}

/**
 * Whether any coding of a resource's coded elements (and of the contained Medication its medicationReference
 * names: code and ingredients), or of a CodeableConcept or Coding itself, passes a test. The codings are not
 * collected: codedIn scans whole records with it, and it stops at the first match.
 * @param value - a resource, CodeableConcept or Coding.
 * @param test - the test (membership of a value set).
 * @returns whether one passes.
 */
export function someCoding(value: unknown, test: (coding: Coding) => boolean): boolean {
  const direct = codingsOf(value);
  if (direct.length > 0) return direct.some(test);
  const o = asObject(value);
  if (!o) return false;
  for (const k of CODED_ELEMENTS) if (codingsOf(o[k]).some(test)) return true;
  const medication = containedMedication(o);
  return medication !== undefined && medicationConcepts(medication).some((c) => codingsOf(c).some(test));
}

const NAMED_ELEMENTS = [...CODED_ELEMENTS, 'method'];

/** Whether a concept's text or a coding's display passes a test. */
function conceptNamed(cc: unknown, test: (name: string) => boolean): boolean {
  const c = asObject(cc);
  if (!c) return false;
  if (typeof c['text'] === 'string' && test(c['text'])) return true;
  if (Array.isArray(c['coding'])) {
    for (const coding of c['coding']) {
      const display = asObject(coding)?.['display'];
      if (typeof display === 'string' && test(display)) return true;
    }
  }
  return false;
}

/**
 * Whether any name a resource (or concept, or string) goes by passes a test: texts and displays of its coded
 * elements, the display of the Medication it references (how Epic and others send a prescription's drug) and the
 * names of that Medication when it is contained, device names, notes. The names are not collected: textMatches
 * scans whole records with it, and it stops at the first match.
 * @param value - a resource, concept or string.
 * @param test - the test (a regular expression's).
 * @returns whether one passes.
 */
export function someName(value: unknown, test: (name: string) => boolean): boolean {
  if (typeof value === 'string') return test(value);
  const o = asObject(value);
  if (!o) return false;
  if (conceptNamed(o, test)) return true;
  for (const k of NAMED_ELEMENTS) if (conceptNamed(o[k], test)) return true;
  const drug = asObject(o['medicationReference'])?.['display'];
  if (typeof drug === 'string' && test(drug)) return true;
  const medication = containedMedication(o);
  if (medication && medicationConcepts(medication).some((c) => conceptNamed(c, test))) return true;
  for (const k of ['deviceName', 'note']) {
    const items = o[k];
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      const x = asObject(item);
      for (const f of ['name', 'text']) if (typeof x?.[f] === 'string' && test(x[f])) return true;
    }
  }
  return typeof o['valueString'] === 'string' && test(o['valueString']);
}

const ACTIVE_CLINICAL = new Set(['active', 'recurrence', 'relapse']);
const VOID_VERIFICATION = new Set(['entered-in-error', 'refuted']);

/** FHIR's notion of an active Condition: clinicalStatus active/recurrence/relapse (or none and no abatement), not void. */
export function isClinicallyActive(value: unknown): boolean {
  const c = asObject(value);
  if (!c) return false;
  const codes = (v: unknown): string[] => (Array.isArray(asObject(v)?.['coding']) ? (asObject(v)?.['coding'] as unknown[]).map((x) => { const code = asObject(x)?.['code']; return typeof code === 'string' ? code : ''; }) : []);
  if (codes(c['verificationStatus']).some((x) => VOID_VERIFICATION.has(x))) return false;
  if (c['clinicalStatus'] === undefined) return c['abatementDateTime'] === undefined && c['abatementPeriod'] === undefined && c['abatementString'] === undefined && c['abatementAge'] === undefined && c['abatementRange'] === undefined;
  return codes(c['clinicalStatus']).some((x) => ACTIVE_CLINICAL.has(x));
}

const patterns = new Map<string, RegExp>();
/** A case-insensitive regular expression, compiled once per text. */
export function pattern(text: string): RegExp {
  let re = patterns.get(text);
  if (!re) patterns.set(text, (re = new RegExp(text, 'i')));
  return re;
}
