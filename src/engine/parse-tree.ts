/**
 * fhirpath.js's parse tree as the engine reads it: the node shape, identifiers, and the variables FHIRPath itself
 * defines. Shared by the loader's static reading (expressions.ts) and the native compiler (native/compile.ts).
 */
import fhirpath from 'fhirpath';

/** A node of fhirpath.js's parse tree. */
export interface AstNode {
  readonly type: string;
  readonly text?: string;
  readonly children?: readonly AstNode[];
}

/**
 * Parses an expression with fhirpath.js.
 * @param expression - FHIRPath text.
 * @returns the parse tree.
 * @throws Error with fhirpath.js's line/column message when it does not parse.
 */
export function parseTree(expression: string): AstNode {
  const tree: unknown = fhirpath.parse(expression);
  return tree as AstNode;
}

/** An identifier's name, without the backticks of a delimited identifier. */
export function identifierText(node: AstNode | undefined): string {
  const text = node?.text ?? '';
  return text.startsWith('`') ? text.slice(1, -1) : text;
}

/**
 * A function call's name and arguments. fhirpath.js gives most calls an Identifier child and a ParamList, but some
 * (sort) only the node text.
 */
export function functionCall(functn: AstNode): { name: string; params: readonly AstNode[] } {
  const paramList = functn.children?.find((k) => k.type === 'ParamList');
  return { name: functn.text ?? identifierText(functn.children?.[0]), params: paramList?.children ?? [] };
}

/** Variables FHIRPath itself defines. */
export const BUILT_IN_VARIABLES = new Set(['context', 'resource', 'rootResource', 'ucum', 'sct', 'loinc']);
