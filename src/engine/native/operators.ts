/**
 * FHIRPath's binary operators over collections, as the native engine runs them: the same answers as fhirpath.js, or
 * a Fallback where its answer is not certain (several items where one is expected, objects, close decimals).
 */
import { compareItems, dateLike, fallback, itemsEqual, plain, stringOf, truthOf, union } from './values.js';

const NONE: readonly unknown[] = [];
/** Shared results, never changed. */
export const TRUE: readonly unknown[] = [true];
export const FALSE: readonly unknown[] = [false];

/** An operator on its two operands' items; `typedDates` when both are values of FHIR date elements. */
export type Operator = (l: readonly unknown[], r: readonly unknown[], typedDates: boolean) => readonly unknown[];

function equal(l: readonly unknown[], r: readonly unknown[], typedDates: boolean): boolean {
  return l.length === r.length && l.every((x, i) => itemsEqual(plain(x), plain(r[i]), typedDates));
}

/** Binary operators by their text; `typedDates` when both operands are values of FHIR date elements. */
export const OPERATORS: Readonly<Record<string, Operator>> = {
  '|': union,
  and: (l, r) => { const a = truthOf(l); const b = truthOf(r); return a === false || b === false ? [false] : a === true && b === true ? [true] : NONE; },
  or: (l, r) => { const a = truthOf(l); const b = truthOf(r); return a === true || b === true ? [true] : a === false && b === false ? [false] : NONE; },
  '=': (l, r, d) => (l.length === 0 || r.length === 0 ? NONE : [equal(l, r, d)]),
  '!=': (l, r, d) => (l.length === 0 || r.length === 0 ? NONE : [!equal(l, r, d)]),
  '<': (l, r, d) => compare(l, r, d, (c) => c < 0),
  '>': (l, r, d) => compare(l, r, d, (c) => c > 0),
  '<=': (l, r, d) => compare(l, r, d, (c) => c <= 0),
  '>=': (l, r, d) => compare(l, r, d, (c) => c >= 0),
  in: (l, r, d) => {
    if (l.length === 0) return NONE;
    if (l.length > 1) return fallback('in with several items on the left');
    return [r.some((x) => equal(l, [x], d))];
  },
  contains: (l, r, d) => {
    if (r.length === 0) return NONE;
    if (r.length > 1) return fallback('contains with several items on the right');
    return [l.some((x) => equal([x], r, d))];
  },
  xor: (l, r) => { const a = truthOf(l); const b = truthOf(r); return a === undefined || b === undefined ? NONE : [a !== b]; },
  implies: (l, r) => { const a = truthOf(l); const b = truthOf(r); return a === false || b === true ? [true] : a === true && b === false ? [false] : NONE; },
  '&': (l, r) => [(stringOf(l) ?? '') + (stringOf(r) ?? '')],
  '+': (l, r) => arithmetic(l, r, (a, b) => a + b, true),
  '-': (l, r) => arithmetic(l, r, (a, b) => a - b),
  '*': (l, r) => arithmetic(l, r, (a, b) => a * b),
  '/': (l, r) => arithmetic(l, r, (a, b) => (b === 0 ? undefined : a / b)),
};
/** The operators whose result is empty or one boolean. */
export const BOOLEAN_OPERATORS = new Set(['and', 'or', 'xor', 'implies', '=', '!=', '<', '>', '<=', '>=', 'in', 'contains']);

/** The left-side truth that decides a boolean operator on its own, and the answer it gives. */
export const SHORT_CIRCUITS: Readonly<Record<string, { readonly decisive: boolean; readonly answer: readonly unknown[] }>> = {
  and: { decisive: false, answer: FALSE },
  or: { decisive: true, answer: TRUE },
  implies: { decisive: false, answer: TRUE },
};

function compare(l: readonly unknown[], r: readonly unknown[], typedDates: boolean, test: (c: number) => boolean): readonly unknown[] {
  if (l.length === 0 || r.length === 0) return NONE;
  if (l.length > 1 || r.length > 1) fallback('comparison of several items');
  return [test(compareItems(plain(l[0]), plain(r[0]), typedDates))];
}

function arithmetic(l: readonly unknown[], r: readonly unknown[], op: (a: number, b: number) => number | undefined, strings = false): readonly unknown[] {
  if (l.length === 0 || r.length === 0) return NONE;
  if (l.length > 1 || r.length > 1) fallback('arithmetic on several items');
  const a = plain(l[0]);
  const b = plain(r[0]);
  if (strings && typeof a === 'string' && typeof b === 'string' && !dateLike(a) && !dateLike(b)) return [a + b];
  if (typeof a !== 'number' || typeof b !== 'number') return fallback('arithmetic on dates, quantities or text');
  const result = op(a, b);
  return result === undefined ? NONE : [result];
}
