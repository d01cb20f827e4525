/**
 * Values of the native FHIRPath engine and the operations on them whose result is certain. Collections are plain
 * arrays of FHIR JSON values. Wherever fhirpath.js would apply typed semantics this engine does not model (dates
 * and times, quantities, decimal rounding, its error messages), the operation throws `Fallback` and the whole
 * expression is evaluated again by fhirpath.js, so the answer is always the reference engine's answer.
 */

/** Thrown when the native engine cannot be sure of fhirpath.js's answer; the caller then asks fhirpath.js. */
export class Fallback extends Error {
  constructor(readonly reason: string) {
    super(`native FHIRPath falls back: ${reason}`);
  }
}

/**
 * Stops native evaluation.
 * @param reason - what the engine cannot decide, for tests and profiling.
 * @throws Fallback always.
 */
export function fallback(reason: string): never {
  throw new Fallback(reason);
}

/**
 * An object from a %variable that is not a resource. fhirpath.js knows no FHIR type for it (no choice elements,
 * no typed primitives), so navigating into it is a plain property read and typed operations fall back.
 */
export class Untyped {
  constructor(readonly data: object) {}
}

/** One item of a collection, unboxed. */
export function plain(item: unknown): unknown {
  return item instanceof Untyped ? item.data : item;
}

/**
 * Whether a value is a plain JSON object: stricter than fhir/json.ts's isJsonObject, it also refuses class
 * instances (fhirpath.js internal values such as %now, and Untyped boxes).
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

const DATE_OR_TIME = /^(?:\d{4}(?:-\d\d(?:-\d\d(?:T\d\d(?::\d\d(?::\d\d(?:\.\d+)?)?)?(?:Z|[+-]\d\d:\d\d)?)?)?)?|\d\d:\d\d(?::\d\d(?:\.\d+)?)?)$/;
const ZONE = /(?:Z|[+-]\d\d:\d\d)$/;

/** Whether a string may be a FHIR date, dateTime, instant or time, which fhirpath.js compares as such. */
export function dateLike(text: string): boolean {
  return DATE_OR_TIME.test(text);
}

/**
 * Order of two strings as fhirpath.js sees them: text order; for values of FHIR date, dateTime or instant elements
 * (`typedDates`, known from the expression) the same where both have the same precision and the same time zone.
 * @throws Fallback for text that looks like a date (fhirpath.js may see a date), or dates of different precision
 * or zone.
 */
function stringOrder(a: string, b: string, typedDates: boolean): number {
  const da = dateLike(a);
  if (da || dateLike(b)) {
    if (!typedDates || !da || !dateLike(b) || a.replace(/\d/g, '0') !== b.replace(/\d/g, '0') || ZONE.exec(a)?.[0] !== ZONE.exec(b)?.[0]) {
      return fallback('a date of unknown type, or dates of different precision or zone');
    }
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** fhirpath.js compares decimals after rounding to 1e-8; below this distance the native answer is not certain. */
const NEAR = 1e-6;

function numbersEqual(a: number, b: number): boolean {
  if (a === b) return true;
  if ((Number.isInteger(a) && Number.isInteger(b)) || Math.abs(a - b) > NEAR) return false;
  return fallback('decimals closer than the comparison precision');
}

/**
 * FHIRPath `=` on two items (strings, dates, numbers, booleans).
 * @returns whether they are equal.
 * @param typedDates - whether both are values of FHIR date elements (see stringOrder).
 * @throws Fallback for objects, mixed types, and dates not comparable as text.
 */
export function itemsEqual(a: unknown, b: unknown, typedDates = false): boolean {
  if (typeof a === 'string' && typeof b === 'string') return stringOrder(a, b, typedDates) === 0;
  if (typeof a === 'number' && typeof b === 'number') return numbersEqual(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b;
  return fallback('equality of objects or mixed types');
}

/**
 * FHIRPath ordering of two items (strings, dates, numbers).
 * @returns negative, zero or positive.
 * @param typedDates - whether both are values of FHIR date elements (see stringOrder).
 * @throws Fallback for objects, mixed types, dates not comparable as text, and decimals too close to call.
 */
export function compareItems(a: unknown, b: unknown, typedDates = false): number {
  if (typeof a === 'number' && typeof b === 'number') {
    if (a === b) return 0;
    if ((Number.isInteger(a) && Number.isInteger(b)) || Math.abs(a - b) > NEAR) return a - b;
    return fallback('decimals closer than the comparison precision');
  }
  if (typeof a === 'string' && typeof b === 'string') return stringOrder(a, b, typedDates);
  return fallback('ordering of objects or mixed types');
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return numbersEqual(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => k in b && jsonEqual(a[k], b[k]));
}

/** Whether two distinct items of a union are the same value for fhirpath.js (which compares deeply). */
function sameValue(a: unknown, b: unknown, typedDates: boolean): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object') return itemsEqual(a, b, typedDates);
  if (!isPlainObject(a) || !isPlainObject(b)) return fallback('union of internal values');
  if (typeof a['resourceType'] === 'string' && typeof b['resourceType'] === 'string' && (a['resourceType'] !== b['resourceType'] || (typeof a['id'] === 'string' && typeof b['id'] === 'string' && a['id'] !== b['id']))) return false;
  // fhirpath.js compares Quantities as quantities (units converted).
  if (typeof a['value'] === 'number' || typeof b['value'] === 'number') return fallback('union of quantities');
  return jsonEqual(a, b);
}

/**
 * FHIRPath `|`: both collections, without repeats, in order of first appearance. Resources are indexed by type and
 * id, so a union of large collections stays linear.
 * @throws Fallback where fhirpath.js's deep equality is not certain (dates, quantities, close decimals).
 */
export function union(left: readonly unknown[], right: readonly unknown[], typedDates = false): unknown[] {
  const out: unknown[] = [];
  // Made when first needed: most unions in a pack join a few resources or nothing, and these five collections made
  // for every one were a tenth of what an evaluation allocated.
  let refs: Set<unknown> | undefined;
  let strings: Set<string> | undefined;
  let resources: Map<string, unknown[]> | undefined;
  let objects: unknown[] | undefined;
  let scalars: unknown[] | undefined;
  const add = (item: unknown): void => {
    const v = plain(item);
    if (typeof v === 'string' && !dateLike(v)) {
      strings ??= new Set<string>();
      if (strings.has(v)) return;
      strings.add(v);
      out.push(item);
      return;
    }
    if (typeof v !== 'object' || v === null) {
      scalars ??= [];
      if (scalars.some((k) => sameValue(k, v, typedDates))) return;
      scalars.push(v);
      out.push(item);
      return;
    }
    refs ??= new Set<unknown>();
    if (refs.has(v)) return;
    const key = isPlainObject(v) && typeof v['resourceType'] === 'string' && typeof v['id'] === 'string' ? `${v['resourceType']}/${v['id']}` : undefined;
    let kept: unknown[];
    if (key !== undefined) {
      resources ??= new Map<string, unknown[]>();
      kept = resources.get(key) ?? [];
      resources.set(key, kept);
    } else kept = objects ??= [];
    if (kept.some((k) => sameValue(k, v, false))) return;
    refs.add(v);
    kept.push(v);
    out.push(item);
  };
  for (const item of left) add(item);
  for (const item of right) add(item);
  return out;
}

/** The single item of a collection as a truth value (FHIRPath singleton evaluation); undefined when empty. */
export function truthOf(c: readonly unknown[]): boolean | undefined {
  if (c.length === 0) return undefined;
  if (c.length > 1) return fallback('more than one item where one boolean is expected');
  const v = plain(c[0]);
  if (typeof v === 'boolean') return v;
  return typeof v === 'object' && !isPlainObject(v) ? fallback('internal value as a boolean') : true;
}

/** The single string of a collection; undefined when empty. */
export function stringOf(c: readonly unknown[]): string | undefined {
  if (c.length === 0) return undefined;
  const v = c.length === 1 ? plain(c[0]) : undefined;
  return typeof v === 'string' ? v : fallback('a string was expected');
}

/** The single number of a collection; undefined when empty. */
export function numberOf(c: readonly unknown[]): number | undefined {
  if (c.length === 0) return undefined;
  const v = c.length === 1 ? plain(c[0]) : undefined;
  return typeof v === 'number' ? v : fallback('a number was expected');
}
