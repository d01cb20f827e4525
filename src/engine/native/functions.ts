/**
 * The FHIRPath functions the native engine evaluates itself, with fhirpath.js's semantics (checked against it in
 * src/engine/native/compile.test.ts and test/rules/native-engine.test.ts), and the pack's own functions over the
 * same item tests as the fhirpath.js table. A function not listed here makes the expression run on fhirpath.js.
 */
import type { Coding } from '@medplum/fhirtypes';
import { epochDays, groupDigits, latestIndex, someCoding, isClinicallyActive, pattern, someName, yesNoOf } from '../item-tests.js';
import { unitCodeOf } from '../units.js';
import type { CompiledValueSet } from '../value-sets.js';
import { codingsOf } from '../value-sets.js';
import { compareItems, fallback, numberOf, plain, stringOf, truthOf } from './values.js';

/**
 * A function whose arguments are evaluated once, before it runs (they may not read the focus). `typedDates` says
 * the input's strings are values of FHIR date elements (see values.ts).
 */
export type EagerFn = (input: readonly unknown[], args: readonly (readonly unknown[])[], typedDates: boolean) => readonly unknown[];

/** How a function is called. */
export interface NativeFunction {
  /** Numbers of arguments it accepts. */
  readonly arities: readonly number[];
  /** Whether its result is always empty or one boolean it computed (usable as a where() criterion). */
  readonly boolean: boolean;
  /** Whether its result is some of its input items (so of the input's type). */
  readonly subset?: boolean;
  readonly fn: EagerFn;
}

const one = (v: unknown): readonly unknown[] => [v];
const NONE: readonly unknown[] = [];
const NUMBER_TEXT = /^[+-]?\d+(\.\d+)?$/;
const regexes = new Map<string, RegExp>();

/** fhirpath.js's matches(): Unicode, dot matches newlines. */
function regex(text: string): RegExp {
  let re = regexes.get(text);
  if (!re) regexes.set(text, (re = new RegExp(text, 'us')));
  return re;
}

/** A string function of one string argument; empty in or an empty argument gives empty, as in fhirpath.js. */
function stringFn(boolean: boolean, fn: (s: string, arg: string) => unknown): NativeFunction {
  return {
    arities: [1],
    boolean,
    fn: (input, [arg = NONE]) => {
      const s = stringOf(input);
      const a = stringOf(arg);
      return s === undefined || a === undefined ? NONE : one(fn(s, a));
    },
  };
}

function unaryString(fn: (s: string) => string): NativeFunction {
  return { arities: [0], boolean: false, fn: (input) => { const s = stringOf(input); return s === undefined ? NONE : one(fn(s)); } };
}

function toStringOf(input: readonly unknown[]): readonly unknown[] {
  if (input.length === 0) return NONE;
  const v = input.length === 1 ? plain(input[0]) : fallback('toString() of several items');
  if (typeof v === 'string') return one(v);
  if (typeof v === 'boolean') return one(String(v));
  if (typeof v === 'number' && !/e/i.test(String(v))) return one(String(v));
  return fallback('toString() of a quantity, an object or an exponent');
}

function toDecimalOf(input: readonly unknown[]): readonly unknown[] {
  if (input.length === 0) return NONE;
  const v = input.length === 1 ? plain(input[0]) : fallback('toDecimal() of several items');
  if (typeof v === 'boolean') return one(v ? 1 : 0);
  if (typeof v === 'number') return one(v);
  if (typeof v === 'string') return NUMBER_TEXT.test(v) ? one(parseFloat(v)) : NONE;
  return fallback('toDecimal() of an object');
}

function sortOf(input: readonly unknown[], _args: unknown, typedDates: boolean): readonly unknown[] {
  const values = input.map(plain);
  const kind = typeof values[0];
  if (!values.every((v) => typeof v === kind && (kind === 'number' || kind === 'string'))) fallback('sort() of objects or mixed types');
  return values.sort((a, b) => compareItems(a, b, typedDates));
}

function sumOf(input: readonly unknown[]): readonly unknown[] {
  if (input.length === 0) return NONE;
  let total = 0;
  for (const item of input) {
    const v = plain(item);
    total += typeof v === 'number' ? v : fallback('sum() of a non-number');
  }
  return one(total);
}

function integerArg(arg: readonly unknown[] | undefined): number | undefined {
  if (arg === undefined) return undefined;
  const n = numberOf(arg);
  return n !== undefined && Number.isInteger(n) && n >= 0 ? n : fallback('a whole number argument was expected');
}

/** The FHIRPath functions evaluated natively that take no expression arguments. */
export const CORE_FUNCTIONS: ReadonlyMap<string, NativeFunction> = new Map<string, NativeFunction>([
  ['empty', { arities: [0], boolean: true, fn: (input) => one(input.length === 0) }],
  ['count', { arities: [0], boolean: false, fn: (input) => one(input.length) }],
  ['first', { arities: [0], boolean: false, subset: true, fn: (input) => input.slice(0, 1) }],
  ['last', { arities: [0], boolean: false, subset: true, fn: (input) => input.slice(-1) }],
  ['not', { arities: [0], boolean: true, fn: (input) => { const t = truthOf(input); return t === undefined ? NONE : one(!t); } }],
  ['lower', unaryString((s) => s.toLowerCase())],
  ['upper', unaryString((s) => s.toUpperCase())],
  ['toString', { arities: [0], boolean: false, fn: toStringOf }],
  ['toDecimal', { arities: [0], boolean: false, fn: toDecimalOf }],
  ['abs', { arities: [0], boolean: false, fn: (input) => { const n = numberOf(input); return n === undefined ? NONE : one(Math.abs(n)); } }],
  ['floor', { arities: [0], boolean: false, fn: (input) => { const n = numberOf(input); return n === undefined ? NONE : one(Math.floor(n)); } }],
  ['sort', { arities: [0], boolean: false, subset: true, fn: sortOf }],
  ['sum', { arities: [0], boolean: false, fn: sumOf }],
  // Both collections kept whole, repeats included (the argument reads no focus, see invocation() in compile.ts).
  ['combine', { arities: [1], boolean: false, fn: (input, [other = NONE]) => input.concat(other) }],
  ['skip', { arities: [1], boolean: false, subset: true, fn: (input, [n]) => { const k = integerArg(n); return k === undefined ? NONE : input.slice(k); } }],
  [
    'round',
    {
      arities: [0, 1],
      boolean: false,
      fn: (input, [p]) => {
        const x = numberOf(input);
        const places = integerArg(p);
        if (x === undefined) return NONE;
        if (places === undefined) return one(Math.round(x));
        const scale = Math.pow(10, places);
        return one(Math.round(x * scale) / scale);
      },
    },
  ],
  ['contains', stringFn(true, (s, a) => s.includes(a))],
  ['startsWith', stringFn(true, (s, a) => s.startsWith(a))],
  ['matches', stringFn(true, (s, a) => regex(a).test(s))],
  [
    'join',
    {
      arities: [0, 1],
      boolean: false,
      fn: (input, [sep]) => {
        if (input.length === 0) return NONE;
        const parts = input.map((item) => { const v = plain(item); return typeof v === 'string' ? v : fallback('join() of a non-string'); });
        // No separator, or an empty one, joins with nothing (as fhirpath.js does).
        return one(parts.join(sep === undefined || sep.length === 0 ? '' : (stringOf(sep) ?? fallback('join() with a separator that is not a string'))));
      },
    },
  ],
  // fhirpath.js splits at every character when the separator is empty; not modelled.
  ['split', { arities: [1], boolean: false, fn: (input, [sep = NONE]) => { const s = stringOf(input); const a = stringOf(sep) ?? fallback('split() without a separator'); return s === undefined ? NONE : s.split(a); } }],
]);

/** unitCode() of one item: its UCUM code, or nothing. */
function oneUnit(item: unknown): readonly unknown[] {
  const code = unitCodeOf(plain(item));
  return code === undefined ? NONE : one(code);
}

/**
 * The pack's own functions (see userFunctions in expressions.ts), over the same item tests.
 * @param valueSets - the pack's value sets by id.
 * @returns the functions by name.
 */
export function packFunctions(valueSets: ReadonlyMap<string, CompiledValueSet>): ReadonlyMap<string, NativeFunction> {
  const valueSet = (arg: readonly unknown[] | undefined): CompiledValueSet => valueSets.get(stringOf(arg ?? NONE) ?? '') ?? fallback('unknown value set');
  return new Map<string, NativeFunction>([
    ['codedIn', { arities: [1], boolean: false, subset: true, fn: (input, [id]) => { const vs = valueSet(id); const member = (c: Coding): boolean => vs.contains(c); return input.filter((item) => someCoding(plain(item), member)); } }],
    ['textMatches', { arities: [1], boolean: false, subset: true, fn: (input, [text]) => { const re = pattern(stringOf(text ?? NONE) ?? fallback('no pattern')); const named = (n: string): boolean => re.test(n); return input.filter((item) => someName(plain(item), named)); } }],
    ['clinicallyActive', { arities: [0], boolean: false, subset: true, fn: (input) => input.filter((item) => isClinicallyActive(plain(item))) }],
    ['yesNo', { arities: [0], boolean: false, fn: (input) => { const text = yesNoOf(input.map(plain)); return text === undefined ? NONE : one(text); } }],
    ['unitCode', { arities: [0], boolean: false, fn: (input) => (input.length === 1 ? oneUnit(input[0]) : input.flatMap(oneUnit)) }],
    ['grouped', { arities: [0], boolean: false, fn: (input) => { const x = input.length === 1 ? plain(input[0]) : undefined; return typeof x === 'number' ? one(groupDigits(x)) : NONE; } }],
    ['inValueSet', { arities: [1], boolean: true, fn: (input, [id]) => { const vs = valueSet(id); return input.length === 0 ? NONE : one(input.some((item) => codingsOf(plain(item)).some((c) => vs.contains(c)))); } }],
    [
      'latest',
      {
        arities: [1],
        boolean: false,
        subset: true,
        fn: (input, [element]) => {
          const i = latestIndex(input.map(plain), stringOf(element ?? NONE) ?? fallback('latest() without an element name'));
          return i === undefined ? NONE : input.slice(i, i + 1);
        },
      },
    ],
    [
      'daysTo',
      {
        arities: [1],
        boolean: false,
        fn: (input, [other = NONE]) => {
          const to = epochDays(plain(other[0]));
          const from = input.length === 1 ? epochDays(plain(input[0])) : undefined;
          return from === undefined || to === undefined ? NONE : one(to - from);
        },
      },
    ],
  ]);
}
