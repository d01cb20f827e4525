/**
 * FHIRPath compilation with the HL7 engine (fhirpath.js, R4 model), once at load time, plus a static reading of
 * each expression's parse tree: which %variables, which functions and which value sets it uses. fhirpath.js only
 * notices an unknown function when evaluation reaches it, so the loader checks the names found here instead.
 */
import fhirpath from 'fhirpath';
import type { UserInvocationTable } from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import type { CompiledValueSet } from './value-sets.js';
import { codingsOf } from './value-sets.js';

/** A compiled expression: call with the root node and the variables. */
export type CompiledFn = (root: object, vars: Record<string, unknown>) => unknown[];

/** What an expression uses. */
export interface ExpressionUse {
  readonly variables: ReadonlySet<string>;
  readonly functions: ReadonlyMap<string, number>;
  readonly valueSets: ReadonlySet<string>;
}

/** Variables FHIRPath itself defines. */
export const BUILT_IN_VARIABLES = new Set(['context', 'resource', 'rootResource', 'ucum', 'sct', 'loinc']);

interface AstNode {
  type: string;
  text?: string;
  children?: AstNode[];
}

function identifierText(node: AstNode | undefined): string {
  const text = node?.text ?? '';
  return text.startsWith('`') ? text.slice(1, -1) : text;
}

function stringLiteral(node: AstNode | undefined): string | undefined {
  if (!node) return undefined;
  if (node.type === 'StringLiteral' && node.text) return node.text.slice(1, -1);
  return node.children?.length === 1 ? stringLiteral(node.children[0]) : undefined;
}

/**
 * Reads an expression's parse tree.
 * @param expression - FHIRPath text.
 * @returns the variables, functions (with arity) and value-set ids it uses.
 * @throws Error with fhirpath.js's line/column message when it does not parse.
 */
export function readExpression(expression: string): ExpressionUse {
  const ast = fhirpath.parse(expression) as unknown as AstNode;
  const variables = new Set<string>();
  const functions = new Map<string, number>();
  const valueSets = new Set<string>();
  const walk = (node: AstNode): void => {
    if (node.type === 'ExternalConstant') variables.add(identifierText(node.children?.[0]));
    if (node.type === 'Functn') {
      const name = identifierText(node.children?.[0]);
      const params = node.children?.[1]?.children ?? [];
      functions.set(name, params.length);
      if (name === 'inValueSet') {
        const id = stringLiteral(params[0]);
        if (id !== undefined) valueSets.add(id);
      }
    }
    node.children?.forEach(walk);
  };
  walk(ast);
  return { variables, functions, valueSets };
}

/** Days since the epoch of a FHIRPath date/dateTime value, a string or a Date; undefined when it is none. */
function epochDays(value: unknown): number | undefined {
  const text = typeof value === 'string' ? value : (value as { asStr?: unknown } | null)?.asStr;
  if (typeof text !== 'string') return undefined;
  const ms = Date.parse(text.length === 7 ? `${text}-01` : text.length === 4 ? `${text}-01-01` : text);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 86_400_000);
}

/**
 * The functions the pack adds to FHIRPath.
 * - `inValueSet('id')`: whether any Coding (of a Coding, CodeableConcept or a resource's `code`) of the input is in
 *   the value set; empty in, empty out.
 * - `daysTo(other)`: whole days from the input date to `other` (negative when other is earlier); empty when either
 *   is not a single date. FHIRPath has no difference between dates; refill intervals need one.
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
 * Names of functions neither FHIRPath nor the pack defines, found by asking fhirpath.js itself.
 * @param functions - the functions an expression uses, with arity.
 * @param table - the pack's user functions.
 * @returns the unknown names.
 */
export function unknownFunctions(functions: ReadonlyMap<string, number>, table: UserInvocationTable): string[] {
  const unknown: string[] = [];
  for (const [name, arity] of functions) {
    if (name in table) continue;
    const probe = `(1).${name}(${Array.from({ length: arity }, () => '{}').join(', ')})`;
    try {
      void fhirpath.evaluate({}, probe, undefined, r4);
    } catch (err) {
      if (String(err).includes(`Not implemented: ${name}`)) unknown.push(name);
    }
  }
  return unknown;
}

/**
 * Compiles an expression with the R4 model and the pack's functions.
 * @param expression - FHIRPath text.
 * @param table - the pack's user functions.
 * @returns the compiled function.
 */
export function compileExpression(expression: string, table: UserInvocationTable): CompiledFn {
  return fhirpath.compile(expression, r4, { userInvocationTable: table });
}

/**
 * A FHIRPath date or dateTime value for the evaluation time, so `%now - 1 year` is date arithmetic, not text.
 * @param literal - `@2026-11-20T15:00:00.000+00:00` or `@2026-11-20`.
 * @returns the internal FHIRPath value to pass as a variable.
 */
export function temporalValue(literal: string): unknown {
  return (fhirpath.evaluate({}, literal, undefined, r4, { resolveInternalTypes: false }) as unknown[])[0];
}
