/**
 * fhirpath.js's parse tree as the engine reads it: the node shape, identifiers, and the variables FHIRPath itself
 * defines; and trees parsed ahead of time, so start-up does not parse the shipped pack's expressions again. Shared
 * by the loader's static reading (expressions.ts) and the native compiler (native/compile.ts).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fhirpath from 'fhirpath';

/** A node of fhirpath.js's parse tree. */
export interface AstNode {
  readonly type: string;
  readonly text?: string;
  readonly children?: readonly AstNode[];
}

/** Parse trees written ahead of time (by `npm run build`), valid for one fhirpath.js version. */
export interface PreparedTrees {
  readonly fhirpath: string;
  readonly trees: Readonly<Record<string, AstNode>>;
}

/** The fhirpath.js version installed: trees written by another version are not used. */
export const FHIRPATH_VERSION = (createRequire(import.meta.url)('fhirpath/package.json') as { version: string }).version;

/**
 * Parses expressions ahead of time, for a file read back by readPreparedTrees.
 * @param expressions - FHIRPath texts (each must parse).
 * @returns the trees by text, with the fhirpath.js version that made them.
 */
export function prepareTrees(expressions: Iterable<string>): PreparedTrees {
  const trees: Record<string, AstNode> = {};
  for (const e of expressions) trees[e] = fhirpath.parse(e) as AstNode;
  return { fhirpath: FHIRPATH_VERSION, trees };
}

/**
 * Reads prepared parse trees. A file that is missing, unreadable, not of this shape (down to every node) or of
 * another fhirpath.js version gives nothing: expressions are then parsed as usual.
 * @param file - the JSON file.
 * @returns the trees by expression text, or undefined.
 */
export function readPreparedTrees(file: URL | string): Map<string, AstNode> | undefined {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const { fhirpath: version, trees } = (data ?? {}) as Partial<PreparedTrees>;
  if (version !== FHIRPATH_VERSION || typeof trees !== 'object' || trees === null) return undefined;
  const entries = Object.entries(trees);
  return entries.every(([, tree]) => isNode(tree)) ? new Map(entries) : undefined;
}

/** Whether a value has the shape of a parse tree all the way down (a damaged file is parsed afresh instead). */
function isNode(value: unknown): value is AstNode {
  if (typeof value !== 'object' || value === null) return false;
  const { type, text, children } = value as { type?: unknown; text?: unknown; children?: unknown };
  if (typeof type !== 'string' || (text !== undefined && typeof text !== 'string')) return false;
  return children === undefined || (Array.isArray(children) && children.every(isNode));
}

/** The file, beside this module, in which `npm run build` writes the trees of the shipped rule packs. */
export const PREPARED_TREES_FILE = new URL('./parse-trees.json', import.meta.url);

/**
 * A parser that takes trees from those prepared, when it has one for the text, and parses the rest with fhirpath.js.
 * A tree is taken out when used, so the map does not outlive loading (the loader compiles a text written twice in
 * one pack once; one written in two packs is parsed the second time).
 * @param prepared - trees by expression text (readPreparedTrees), or undefined to parse everything.
 * @returns the parser.
 */
export function treeSource(prepared: Map<string, AstNode> | undefined): (expression: string) => AstNode {
  return (expression) => {
    const ready = prepared?.get(expression);
    if (ready) {
      prepared?.delete(expression);
      return ready;
    }
    const tree: unknown = fhirpath.parse(expression);
    return tree as AstNode;
  };
}

/**
 * Parses an expression with fhirpath.js, or takes its tree from those prepared at build time (parsing the pack's
 * expressions is a tenth to a fifth of start-up).
 * @param expression - FHIRPath text.
 * @returns the parse tree.
 * @throws Error with fhirpath.js's line/column message when it does not parse.
 */
export const parseTree = treeSource(readPreparedTrees(PREPARED_TREES_FILE));

/** FHIRPath's escapes that stand for a control character; any other escaped character stands for itself. */
const CONTROL_ESCAPES: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', f: '\f' };

/**
 * The text of a quoted string literal or delimited identifier, its escapes read as fhirpath.js reads them: \n, \r,
 * \t, \f, \uXXXX, and a backslash before any other character (but a line break) keeping that character.
 * @param quoted - the token with its quotes or backticks.
 * @returns the text it stands for.
 */
export function unquote(quoted: string): string {
  return quoted.slice(1, -1).replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_match, escaped: string) =>
    escaped.length === 5 ? String.fromCharCode(Number.parseInt(escaped.slice(1), 16)) : (CONTROL_ESCAPES[escaped] ?? escaped)
  );
}

/** An identifier's name: a delimited identifier without its backticks, escapes read. */
export function identifierText(node: AstNode | undefined): string {
  const text = node?.text ?? '';
  return text.startsWith('`') ? unquote(text) : text;
}

/**
 * A function call's name and arguments. fhirpath.js gives most calls an Identifier child and a ParamList, but some
 * (sort) only the node text.
 */
export function functionCall(functn: AstNode): { name: string; params: readonly AstNode[] } {
  const paramList = functn.children?.find((k) => k.type === 'ParamList');
  return { name: functn.text ?? identifierText(functn.children?.[0]), params: paramList?.children ?? [] };
}

/**
 * The text of a string literal argument (through the wrapping terms fhirpath.js puts around it).
 * @param node - an argument's node.
 * @returns the text, or undefined when the argument is not a string literal.
 */
export function stringLiteral(node: AstNode | undefined): string | undefined {
  if (!node) return undefined;
  if (node.type === 'StringLiteral' && node.text) return unquote(node.text);
  return node.children?.length === 1 ? stringLiteral(node.children[0]) : undefined;
}

/**
 * The names an expression defines with defineVariable('name', ...), in the order written. A name that is not a
 * string literal is given as undefined.
 * @param tree - the expression's parse tree.
 * @returns the names.
 */
export function definedNames(tree: AstNode): (string | undefined)[] {
  const names: (string | undefined)[] = [];
  const walk = (node: AstNode): void => {
    if (node.type === 'Functn') {
      const { name, params } = functionCall(node);
      if (name === 'defineVariable') names.push(stringLiteral(params[0]));
    }
    node.children?.forEach(walk);
  };
  walk(tree);
  return names;
}

/** Variables FHIRPath itself defines. */
export const BUILT_IN_VARIABLES = new Set(['context', 'resource', 'rootResource', 'ucum', 'sct', 'loinc']);
