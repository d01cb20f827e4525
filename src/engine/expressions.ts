/**
 * FHIRPath compilation with the HL7 engine (fhirpath.js, R4 model), once at load time, plus a static reading of
 * each expression's parse tree: which %variables, which functions and which value sets it uses. fhirpath.js only
 * notices an unknown function when evaluation reaches it, so the loader checks the names found here instead.
 */
import type { Coding } from '@medplum/fhirtypes';
import fhirpath from 'fhirpath';
import type { UserInvocationTable } from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import type { CompiledValueSet } from './value-sets.js';
import { codingsOf } from './value-sets.js';
import { epochDays, groupDigits, latestIndex, someCoding, isClinicallyActive, pattern, someName, yesNoOf } from './item-tests.js';
import { unitCodeOf } from './units.js';
import { compileNative } from './native/compile.js';
import { definedNames, functionCall, identifierText, parseTree, stringLiteral } from './parse-tree.js';
import type { AstNode } from './parse-tree.js';
import type { NativeFn } from './native/compile.js';
import type { NativeFunction } from './native/functions.js';

/** The data behind a fhirpath.js internal node (user functions with internalStructures get nodes). */
function dataOf(node: unknown): unknown {
  return typeof node === 'object' && node !== null && 'data' in node ? node.data : node;
}

/** A compiled expression: call with the root node and the variables. */
export type CompiledFn = (root: object, vars: Record<string, unknown>) => readonly unknown[];

/** What an expression uses. */
export interface ExpressionUse {
  /** The variables it reads from outside: context variables and criteria, not those it defines itself. */
  readonly variables: ReadonlySet<string>;
  /** The names it defines with defineVariable() (undefined for a name that is not a string literal). */
  readonly defined: readonly (string | undefined)[];
  readonly functions: ReadonlyMap<string, number>;
  readonly valueSets: ReadonlySet<string>;
  /** The calls of functions taking a regular expression, with the pattern when it is a string literal. */
  readonly patterns: readonly RegexArgument[];
  /** The parse tree (handed to the native compiler, so the expression is not parsed again). */
  readonly tree: AstNode;
}

/** A regular expression given to matches(), replaceMatches() or textMatches(). */
export interface RegexArgument {
  readonly fn: string;
  /** The pattern, or undefined when the argument is not a string literal. */
  readonly pattern: string | undefined;
}

/** Functions whose first argument is a regular expression. */
const REGEX_FUNCTIONS = new Set(['matches', 'replaceMatches', 'textMatches']);

/**
 * Reads an expression's parse tree.
 * @param expression - FHIRPath text.
 * @returns the variables, functions (with arity), value-set ids and regular expressions it uses, and the names it
 *   defines.
 * @throws Error with fhirpath.js's line/column message when it does not parse.
 */
export function readExpression(expression: string): ExpressionUse {
  const ast = parseTree(expression);
  const variables = new Set<string>();
  const functions = new Map<string, number>();
  const valueSets = new Set<string>();
  const patterns: RegexArgument[] = [];
  const walk = (node: AstNode): void => {
    if (node.type === 'ExternalConstant') variables.add(identifierText(node.children?.[0]));
    if (node.type === 'Functn') {
      const { name, params } = functionCall(node);
      functions.set(name, params.length);
      if (name === 'inValueSet' || name === 'codedIn') {
        const id = stringLiteral(params[0]);
        if (id !== undefined) valueSets.add(id);
      }
      if (REGEX_FUNCTIONS.has(name)) patterns.push({ fn: name, pattern: stringLiteral(params[0]) });
    }
    node.children?.forEach(walk);
  };
  walk(ast);
  const defined = definedNames(ast);
  for (const name of defined) if (name !== undefined) variables.delete(name);
  return { variables, defined, functions, valueSets, patterns, tree: ast };
}

/**
 * The functions the pack adds to FHIRPath. The filters are plain JavaScript over each item, so scanning a record of
 * thousands of resources costs microseconds per item instead of an interpreted predicate.
 * - `codedIn('id')`: the items (resources, CodeableConcepts, Codings) with a coding in the value set; a resource's
 *   code, medicationCodeableConcept, type, valueCodeableConcept or codeCodeableConcept counts.
 * - `textMatches('regex')`: the items whose names (texts and displays of those elements, device names, notes, or the
 *   string itself) match the regular expression, ignoring case.
 * - `clinicallyActive()`: the Conditions that are active (active, recurrence or relapse; or no status and no
 *   abatement) and not entered in error or refuted.
 * - `inValueSet('id')`: whether any Coding (of a Coding, CodeableConcept or a resource's `code`) of the input is in
 *   the value set; empty in, empty out.
 * - `daysTo(other)`: whole days from the input date to `other` (negative when other is earlier); empty when either
 *   is not a single date. FHIRPath has no difference between dates; refill intervals need one.
 * - `latest('element')`: the item whose date element (by its JSON name, e.g. `authoredOn`) is the latest moment; of
 *   items equally late, the last; empty when none has one. FHIRPath's sort() orders values, not the items they
 *   belong to, and refuses dates of different precision or zone; "the order written last" needs both.
 * - `grouped()`: a single number as text with thousands separators ("4,800"); empty for anything else. Card lines
 *   built as text write numbers as the placeholders do (and as dose safety practice asks, commas from 1,000 up).
 * - `yesNo()`: "yes" or "no" for one boolean, "not known" for an empty input (missing data); empty for anything
 *   else. Card lines built as text write a criterion's truth as the placeholders do.
 * - `unitCode()`: the unit of each Quantity as a UCUM code the dose math converts (`mg`, `ug`, `mL`, `d`, `h`,
 *   `min`, `wk`, an amount per period such as `mL/h`, or `1` for a number of doses), from its UCUM code or, with
 *   none, its unit's text (`mcg`, `mL/day`, `mg/24 hr`, `doses`); nothing for a unit it does not convert. See units.ts.
 * @param valueSets - the pack's value sets by id.
 * @returns a fhirpath.js user invocation table.
 */
export function userFunctions(valueSets: ReadonlyMap<string, CompiledValueSet>): UserInvocationTable {
  return {
    inValueSet: {
      arity: { 1: ['String'] },
      fn: (inputs: unknown[], id: unknown) => {
        const vs = valueSets.get(String(id));
        if (!vs) throw new Error(`inValueSet: unknown value set "${String(id)}"`);
        if (inputs.length === 0) return [];
        return [inputs.some((node) => codingsOf(node).some((c) => vs.contains(c)))];
      },
    },
    codedIn: {
      arity: { 1: ['String'] },
      internalStructures: true,
      fn: (inputs: unknown[], id: unknown) => {
        const vs = valueSets.get(String(id));
        if (!vs) throw new Error(`codedIn: unknown value set "${String(id)}"`);
        const member = (c: Coding): boolean => vs.contains(c);
        return inputs.filter((node) => someCoding(dataOf(node), member));
      },
    },
    textMatches: {
      arity: { 1: ['String'] },
      internalStructures: true,
      fn: (inputs: unknown[], text: unknown) => {
        const re = pattern(String(text));
        const named = (n: string): boolean => re.test(n);
        return inputs.filter((node) => someName(dataOf(node), named));
      },
    },
    clinicallyActive: {
      arity: { 0: [] },
      internalStructures: true,
      fn: (inputs: unknown[]) => inputs.filter((node) => isClinicallyActive(dataOf(node))),
    },
    grouped: {
      arity: { 0: [] },
      fn: (inputs: unknown[]) => {
        const n = inputs.length === 1 ? numericValue(inputs[0]) : undefined;
        return n === undefined ? [] : [groupDigits(n)];
      },
    },
    yesNo: {
      arity: { 0: [] },
      fn: (inputs: unknown[]) => {
        const text = yesNoOf(inputs);
        return text === undefined ? [] : [text];
      },
    },
    unitCode: {
      arity: { 0: [] },
      internalStructures: true,
      fn: (inputs: unknown[]) => inputs.flatMap((node) => {
        const code = unitCodeOf(dataOf(node));
        return code === undefined ? [] : [code];
      }),
    },
    latest: {
      arity: { 1: ['String'] },
      internalStructures: true,
      fn: (inputs: unknown[], element: unknown) => {
        const i = latestIndex(inputs.map(dataOf), String(element));
        return i === undefined ? [] : [inputs[i]];
      },
    },
    daysTo: {
      arity: { 1: ['Any'] },
      fn: (inputs: unknown[], other: unknown) => {
        const to = epochDays(Array.isArray(other) ? other[0] : other);
        const from = inputs.length === 1 ? epochDays(inputs[0]) : undefined;
        return from === undefined || to === undefined ? [] : [to - from];
      },
    },
  };
}

/**
 * A number as fhirpath.js hands it to a user function: a JavaScript number (from FHIR data) or its decimal object
 * (from literals and arithmetic, with the number in `value`); undefined for anything else.
 */
function numericValue(item: unknown): number | undefined {
  if (typeof item === 'number') return item;
  const d = item as { value?: unknown; decimalPlaces?: unknown } | null;
  return typeof d === 'object' && d !== null && typeof d.value === 'number' && typeof d.decimalPlaces === 'number' ? d.value : undefined;
}

/**
 * Names of functions neither FHIRPath nor the pack defines, found by asking fhirpath.js itself.
 * @param functions - the functions an expression uses, with arity.
 * @param table - the pack's user functions.
 * @returns the unknown names.
 */
export function unknownFunctions(functions: ReadonlyMap<string, number>, table: UserInvocationTable): string[] {
  const unknown: string[] = [];
  for (const [name, arity] of functions) {
    if (name in table) continue;
    const key = `${name}/${arity}`;
    let known = probed.get(key);
    if (known === undefined) {
      known = true;
      try {
        void fhirpath.evaluate({}, `(1).${name}(${Array.from({ length: arity }, () => '{}').join(', ')})`, undefined, r4);
      } catch (err) {
        known = !String(err).includes(`Not implemented: ${name}`);
      }
      probed.set(key, known);
    }
    if (!known) unknown.push(name);
  }
  return unknown;
}

/** Functions already asked about (name/arity -> known), so loading asks fhirpath.js once per function. */
const probed = new Map<string, boolean>();

/** An expression compiled for both engines. */
export interface ExpressionEngines {
  /** What evaluation calls: the native engine, or fhirpath.js where the native one is not certain. */
  readonly fn: CompiledFn;
  /** fhirpath.js alone (the reference). */
  readonly reference: CompiledFn;
  /** The native engine alone (throws Fallback where it is not certain); absent when the subset does not cover it. */
  readonly native?: NativeFn;
  /** Why the native engine does not cover it. */
  readonly nativeGap?: string;
}

/**
 * Compiles an expression with fhirpath.js (R4 model, the pack's functions) and, where the subset covers it, with
 * the native engine, which answers the same in microseconds and hands anything uncertain back to fhirpath.js.
 * @param expression - FHIRPath text.
 * @param table - the pack's user functions for fhirpath.js.
 * @param natives - the same functions for the native engine.
 * @param tree - the expression's parse tree when the caller already has it.
 * @returns the compiled engines.
 */
export function compileExpression(expression: string, table: UserInvocationTable, natives: ReadonlyMap<string, NativeFunction>, tree?: AstNode): ExpressionEngines {
  // fhirpath.js compiles (parses again) on first use: the native engine covers every expression of the shipped pack,
  // so most runs never call it, and start-up does not pay ~0.5 ms per expression for it. Parse errors cannot wait:
  // readExpression has already parsed the text with the same parser.
  let compiled: CompiledFn | undefined;
  const reference: CompiledFn = (root, vars) => (compiled ??= fhirpath.compile(expression, r4, { userInvocationTable: table }))(root, vars);
  const native = compileNative(expression, natives, tree);
  if (typeof native !== 'function') return { fn: reference, reference, nativeGap: native.unsupported };
  const fn: CompiledFn = (root, vars) => {
    try {
      return native(root, vars);
    } catch {
      // Fallback (or a defect of the native engine): the reference engine answers, errors included.
      return reference(root, vars);
    }
  };
  return { fn, reference, native };
}

const TO_DATE_TIME = fhirpath.compile('%value.toDateTime()', r4, { resolveInternalTypes: false }) as unknown as CompiledFn;
const TO_DATE = fhirpath.compile('%value.toDate()', r4, { resolveInternalTypes: false }) as unknown as CompiledFn;
/** %today of the last evaluation, kept until the date changes. */
let lastToday: { day: string; value: unknown } = { day: '', value: undefined };

/** A fhirpath.js DateTime value: its class takes the evaluation context it belongs to and the text. */
type DateTimeClass = new (ctx: unknown, text: string) => { readonly asStr: string };

/**
 * How %now is made without running an expression. Running the compiled `toDateTime()` costs 10-15 us with warm
 * caches and over 100 us with cold ones (it walks a good part of fhirpath.js), on every request; fhirpath.js makes
 * a DateTime from a text it knows to be valid (an FP_Date's, in `toDateTime()`) by calling the class directly, with
 * the context and the text. This does the same with the class and context of a value it made itself, once. If a
 * later fhirpath.js makes its values differently, the check below fails and every request runs the expression.
 * expressions.test.ts checks that the values made both ways behave the same.
 */
function directDateTime(): ((iso: string) => unknown) | undefined {
  const iso = '2026-01-01T00:00:00.000+00:00';
  const sample = TO_DATE_TIME({}, { value: iso })[0] as { constructor: DateTimeClass; ctx?: unknown } | undefined;
  if (typeof sample !== 'object' || !('ctx' in sample)) return undefined;
  const { constructor: DateTime, ctx } = sample;
  const make = (text: string): unknown => new DateTime(ctx, text);
  // toDateTime() hands back a value that already is one of its DateTimes (an instanceof test) unchanged.
  const made = make(iso);
  return TO_DATE_TIME({}, { value: made })[0] === made && (made as { asStr?: unknown }).asStr === iso ? make : undefined;
}

const makeDateTime = directDateTime() ?? ((iso: string): unknown => TO_DATE_TIME({}, { value: iso })[0]);

/**
 * FHIRPath date and dateTime values for the evaluation time, so `%now - 1 year` is date arithmetic, not text.
 * %today is converted by an expression compiled once (a literal would be parsed again on every call) and kept for
 * the day; %now is made directly (see directDateTime).
 * @param at - the evaluation time.
 * @returns the internal FHIRPath values to pass as %now and %today.
 */
export function evaluationTime(at: Date): { now: unknown; today: unknown } {
  const iso = at.toISOString();
  const day = iso.slice(0, 10);
  // %today changes once a day: its value is kept (fhirpath.js does not change its values; arithmetic makes new ones).
  if (day !== lastToday.day) lastToday = { day, value: TO_DATE({}, { value: day })[0] };
  return { now: makeDateTime(`${iso.slice(0, -1)}+00:00`), today: lastToday.value };
}
