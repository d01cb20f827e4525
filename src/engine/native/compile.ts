/**
 * A FHIRPath compiler for the subset rule packs use: fhirpath.js parses, and its parse tree is turned once into
 * JavaScript closures over plain FHIR JSON, with no per-item wrapping and no interpretation at run time. What the
 * subset does not cover is refused here (the expression then always runs on fhirpath.js); what is covered but
 * uncertain on a given record falls back at run time (values.ts). The pair is checked item for item against
 * fhirpath.js over every rule case, fixture and random records (test/rules/native-engine.test.ts).
 */
import type { NativeFunction } from './functions.js';
import { CORE_FUNCTIONS } from './functions.js';
import { elementType, isConcreteResourceType, isDateType } from './model.js';
import { choiceRead, member, variable } from './navigation.js';
import { BUILT_IN_VARIABLES, definedNames, functionCall, identifierText as identifier, parseTree, stringLiteral, unquote } from '../parse-tree.js';
import type { AstNode } from '../parse-tree.js';
import { BOOLEAN_OPERATORS, FALSE, OPERATORS, SHORT_CIRCUITS, TRUE } from './operators.js';
import type { Operator } from './operators.js';
import { Untyped, fallback, isPlainObject, plain, truthOf } from './values.js';

/** What an evaluation reads besides the focus. */
interface Env {
  readonly vars: Readonly<Record<string, unknown>>;
  /** `$this`: the item of the enclosing where/select/exists, or the root. */
  readonly self: readonly unknown[];
  /**
   * Variables defined by defineVariable() so far in this subexpression, only in an expression that defines some.
   * A subexpression (an operand, an argument, a where/select body for each item) gets its own copy, as in
   * fhirpath.js: what it defines is seen by the rest of its own chain, never outside it.
   */
  readonly defs?: Record<string, readonly unknown[]>;
}

type Run = (focus: readonly unknown[], env: Env) => readonly unknown[];

interface Plan {
  readonly run: Run;
  /** Whether the result is always empty or one boolean computed here (so where() may test it). */
  readonly boolean: boolean;
  /** Whether it reads the focus (a member, $this, or a function without a receiver). */
  readonly focus: boolean;
  /** The FHIR type (or backbone path) of its items, where the expression says (`x.ofType(Period).start`). */
  readonly type?: string;
  /** Whether its strings are all values of FHIR date, dateTime or instant elements. */
  readonly dates?: boolean;
}

/** The expression uses something the native engine does not compile. */
class Unsupported extends Error {}

const NONE: readonly unknown[] = [];
const NO_ARGS: readonly (readonly unknown[])[] = [];

function kids(node: AstNode): readonly AstNode[] {
  return node.children ?? [];
}

function child(node: AstNode, i = 0): AstNode {
  return kids(node)[i] ?? unsupported(`${node.type} without operand`);
}

function unsupported(what: string): never {
  throw new Unsupported(what);
}

function typeName(param: AstNode): string {
  let node = param;
  while (node.type !== 'Identifier' && kids(node).length === 1) node = child(node);
  return node.type === 'Identifier' ? identifier(node) : unsupported('type specifier');
}

/** A plan with the type of its items (and whether they are dates) set, or cleared when unknown. */
function typed(plan: Plan, type: string | undefined, dates = isDateType(type)): Plan {
  return { run: plan.run, boolean: plan.boolean, focus: plan.focus, ...(type !== undefined ? { type } : {}), dates };
}

class Compiler {
  /**
   * @param functions - the pack's own functions.
   * @param defined - the names the expression defines with defineVariable(); empty for most expressions, which then
   *   run with no definitions to copy.
   */
  constructor(
    private readonly functions: ReadonlyMap<string, NativeFunction>,
    private readonly defined: ReadonlySet<string>
  ) {}

  /**
   * A subexpression (operand or argument), compiled with its own scope of definitions: a copy of those made so far,
   * only when it defines a variable itself (one that only reads them shares its parent's).
   */
  private sub(node: AstNode): Plan {
    const plan = this.expression(node);
    if (this.defined.size === 0 || definedNames(node).length === 0) return plan;
    const { run } = plan;
    return { ...plan, run: (focus, env) => run(focus, { vars: env.vars, self: env.self, defs: { ...env.defs } }) };
  }

  expression(node: AstNode): Plan {
    switch (node.type) {
      case 'EntireExpression':
      case 'TermExpression':
      case 'ParenthesizedTerm':
        return this.expression(child(node));
      case 'InvocationTerm':
        return this.invocation(child(node), undefined);
      case 'InvocationExpression':
        return this.invocation(child(node, 1), child(node, 0));
      case 'ExternalConstantTerm':
        return this.constant(child(node));
      case 'LiteralTerm':
        return this.literal(child(node));
      default:
        if (node.type.endsWith('Expression') && kids(node).length === 2 && Object.hasOwn(OPERATORS, node.text ?? '')) return this.operator(node);
        return unsupported(node.type);
    }
  }

  private operator(node: AstNode): Plan {
    const op = OPERATORS[node.text as string] as Operator;
    const left = this.sub(child(node, 0));
    const right = this.sub(child(node, 1));
    const dates = left.dates === true && right.dates === true;
    const same = node.text === '|' ? { ...(left.type === right.type && left.type !== undefined ? { type: left.type } : {}), dates } : {};
    const boolean = BOOLEAN_OPERATORS.has(node.text as string);
    const focus = left.focus || right.focus;
    // A definite left side decides `false and ...`, `true or ...` and `false implies ...` (FHIRPath's three-valued
    // logic), so the right side, and the criteria only it reads, is not evaluated. Otherwise both are, as fhirpath.js
    // evaluates them.
    const shortCut = SHORT_CIRCUITS[node.text as string];
    if (shortCut !== undefined) {
      const { decisive, answer } = shortCut;
      return { run: (f, env) => { const l = left.run(f, env); return truthOf(l) === decisive ? answer : op(l, right.run(f, env), dates); }, boolean, focus };
    }
    return { run: (f, env) => op(left.run(f, env), right.run(f, env), dates), boolean, focus, ...same };
  }

  private constant(node: AstNode): Plan {
    const inner = child(node);
    if (inner.type !== 'Identifier') return unsupported('quoted variable name');
    const name = identifier(inner);
    if (BUILT_IN_VARIABLES.has(name)) return unsupported(`%${name}`);
    if (this.defined.has(name)) {
      return { run: (_focus, env) => (env.defs && Object.hasOwn(env.defs, name) ? (env.defs[name] as readonly unknown[]) : variable(env.vars[name])), boolean: false, focus: false };
    }
    return { run: (_focus, env) => variable(env.vars[name]), boolean: false, focus: false };
  }

  private literal(node: AstNode): Plan {
    const text = node.text ?? '';
    let value: unknown;
    if (node.type === 'StringLiteral') value = unquote(text);
    else if (node.type === 'NumberLiteral' && String(Number(text)) === text) value = Number(text);
    else if (node.type === 'BooleanLiteral') return { run: () => (text === 'true' ? TRUE : FALSE), boolean: true, focus: false };
    else if (node.type === 'NullLiteral') return { run: () => NONE, boolean: false, focus: false };
    else return unsupported(`literal ${text}`);
    const result = [value];
    return { run: () => result, boolean: false, focus: false };
  }

  /** An invocation on a receiver (`receiver.invocation`), or on the focus when there is no receiver. */
  private invocation(node: AstNode, receiverNode: AstNode | undefined): Plan {
    if (node.type === 'ThisInvocation') {
      if (receiverNode) return unsupported('$this after a dot');
      return { run: (_focus, env) => env.self, boolean: false, focus: true };
    }
    if (node.type === 'MemberInvocation') {
      const name = identifier(child(node));
      if (/^[A-Z]/.test(name)) return unsupported(`type name ${name} as a path`);
      const plan = this.chain(receiverNode, member(name), false);
      return typed(plan, plan.type !== undefined ? elementType(plan.type, name) : undefined);
    }
    if (node.type !== 'FunctionInvocation') return unsupported(node.type);
    const { name, params } = functionCall(child(node));
    if (name === 'ofType' && params.length === 1) return this.ofType(typeName(params[0] as AstNode), receiverNode);
    if (name === 'where' || name === 'select' || name === 'all' || (name === 'exists' && params.length === 1)) return this.lambda(name, params, receiverNode);
    if (name === 'iif') return this.iif(params, receiverNode);
    if (name === 'coalesce') return this.coalesce(params, receiverNode);
    if (name === 'defineVariable') return this.defineVariable(params, receiverNode);
    if (name === 'exists' && params.length === 0) return this.chain(receiverNode, (input) => [input.length > 0], true);
    const f = this.functions.get(name) ?? CORE_FUNCTIONS.get(name) ?? unsupported(`function ${name}`);
    if (!f.arities.includes(params.length)) return unsupported(`${name} with ${params.length} arguments`);
    const args = params.map((p) => this.sub(p));
    if (args.some((a) => a.focus)) return unsupported(`${name}() argument reads the focus`);
    const receiver = receiverNode ? this.expression(receiverNode) : undefined;
    const dates = receiver?.dates === true;
    // Argument arrays are built without map() for the usual zero or one argument: this runs on every call.
    const [only] = args;
    const argsOf: (env: Env) => readonly (readonly unknown[])[] =
      args.length === 0 ? () => NO_ARGS : args.length === 1 && only ? (env) => [only.run(NONE, env)] : (env) => args.map((a) => a.run(NONE, env));
    const plan: Plan = {
      run: (focus, env) => f.fn(receiver ? receiver.run(focus, env) : focus, argsOf(env), dates),
      boolean: f.boolean,
      focus: receiver ? receiver.focus : true,
    };
    return f.subset ? typed(plan, receiver?.type) : plan;
  }

  /** A step applied to the receiver's items (or the focus); its plan carries the receiver's type, for member(). */
  private chain(receiverNode: AstNode | undefined, step: (items: readonly unknown[]) => readonly unknown[], boolean: boolean): Plan {
    if (!receiverNode) return { run: (focus) => step(focus), boolean, focus: true };
    const receiver = this.expression(receiverNode);
    return { run: (focus, env) => step(receiver.run(focus, env)), boolean, focus: receiver.focus, ...(receiver.type !== undefined ? { type: receiver.type } : {}) };
  }

  private ofType(type: string, receiverNode: AstNode | undefined): Plan {
    if (isConcreteResourceType(type)) return typed(this.chain(receiverNode, (items) => items.filter((i) => isPlainObject(i) && i['resourceType'] === type), false), type);
    // A choice element read by type: `effective.ofType(dateTime)` reads effectiveDateTime.
    const last = receiverNode?.type === 'InvocationExpression' ? child(receiverNode, 1) : receiverNode?.type === 'TermExpression' ? child(child(receiverNode)) : undefined;
    if (last?.type !== 'MemberInvocation') return unsupported(`ofType(${type}) not on an element`);
    const name = identifier(child(last));
    const read = choiceRead(name, type) ?? unsupported(`ofType(${type}) on ${name}`);
    if (receiverNode?.type === 'InvocationExpression') return typed(this.chain(child(receiverNode, 0), read, false), type);
    return typed({ run: (focus) => read(focus), boolean: false, focus: true }, type);
  }

  private lambda(name: string, params: readonly AstNode[], receiverNode: AstNode | undefined): Plan {
    if (params.length !== 1) return unsupported(`${name} with ${params.length} arguments`);
    const body = this.sub(params[0] as AstNode);
    // fhirpath.js keeps an item when the criterion's first item is truthy; for a computed boolean that is `true`.
    if (name !== 'select' && !body.boolean) return unsupported(`${name}() criterion that is not a computed boolean`);
    const step = (input: readonly unknown[], env: Env): readonly unknown[] => {
      const out: unknown[] = [];
      for (const item of input) {
        const self = [item];
        const r = body.run(self, { vars: env.vars, self, defs: env.defs });
        if (name === 'select') out.push(...r);
        // all(): the first item that does not give true decides (fhirpath.js stops there too).
        else if (name === 'all') {
          if (r[0] !== true) return FALSE;
        } else if (r[0] === true) out.push(item);
      }
      if (name === 'all') return TRUE;
      return name === 'exists' ? [out.length > 0] : out;
    };
    const receiver = receiverNode ? this.expression(receiverNode) : undefined;
    const plan: Plan = {
      run: (focus, env) => step(receiver ? receiver.run(focus, env) : focus, env),
      boolean: name === 'exists' || name === 'all',
      focus: receiver ? receiver.focus : true,
    };
    if (name === 'select') return typed(plan, body.type, body.dates);
    return name === 'where' ? typed(plan, receiver?.type, receiver?.dates) : plan;
  }

  /**
   * defineVariable('name'[, value]): the input unchanged; from here on in the chain (and in the subexpressions of its
   * later steps) `%name` is the value, evaluated on the input as a whole (or the input itself).
   */
  private defineVariable(params: readonly AstNode[], receiverNode: AstNode | undefined): Plan {
    const name = params.length === 1 || params.length === 2 ? stringLiteral(params[0]) : undefined;
    if (name === undefined) return unsupported('defineVariable without a literal name');
    const value = params[1] ? this.sub(params[1]) : undefined;
    const receiver = receiverNode ? this.expression(receiverNode) : undefined;
    return {
      run: (focus, env) => {
        const input = receiver ? receiver.run(focus, env) : focus;
        const defs = env.defs ?? fallback('a definition outside a defining expression');
        // fhirpath.js refuses to redefine a variable (its error is then the answer).
        if (name in env.vars || Object.hasOwn(defs, name)) return fallback(`%${name} defined again`);
        defs[name] = value ? value.run(input, { vars: env.vars, self: input, defs: env.defs }) : input;
        return input;
      },
      boolean: receiver?.boolean ?? false,
      focus: receiver ? receiver.focus || (value?.focus ?? false) : true,
      ...(receiver?.type !== undefined ? { type: receiver.type } : {}),
      ...(receiver?.dates !== undefined ? { dates: receiver.dates } : {}),
    };
  }

  /**
   * coalesce(a, b, ...): the first argument that is not empty, each evaluated on the input collection as a whole
   * (`$this` stays the outer one, as in fhirpath.js); the arguments after it are not evaluated.
   */
  private coalesce(params: readonly AstNode[], receiverNode: AstNode | undefined): Plan {
    if (params.length === 0) return unsupported('coalesce without arguments');
    const options = params.map((p) => this.sub(p));
    const receiver = receiverNode ? this.expression(receiverNode) : undefined;
    return {
      run: (focus, env) => {
        const input = receiver ? receiver.run(focus, env) : focus;
        for (const option of options) {
          const r = option.run(input, env);
          if (r.length > 0) return r;
        }
        return NONE;
      },
      boolean: options.every((o) => o.boolean),
      focus: receiver ? receiver.focus || options.some((o) => o.focus) : true,
    };
  }

  /** iif(criterion, then, else): fhirpath.js evaluates the criterion and the branch on the input, as `$this`. */
  private iif(params: readonly AstNode[], receiverNode: AstNode | undefined): Plan {
    if (params.length !== 2 && params.length !== 3) return unsupported(`iif with ${params.length} arguments`);
    const [criterion, then, otherwise] = params.map((p) => this.sub(p)) as [Plan, Plan, Plan | undefined];
    const receiver = receiverNode ? this.expression(receiverNode) : undefined;
    return {
      run: (focus, env) => {
        const input = receiver ? receiver.run(focus, env) : focus;
        const inner = { vars: env.vars, self: input, defs: env.defs };
        const c = criterion.run(input, inner);
        if (c.length === 1 && plain(c[0]) === true) return then.run(input, inner);
        return otherwise ? otherwise.run(input, inner) : NONE;
      },
      boolean: then.boolean && (otherwise?.boolean ?? true),
      focus: receiver ? receiver.focus : true,
    };
  }
}

/** A natively compiled expression: same inputs and results as fhirpath.js; throws Fallback when unsure. */
export type NativeFn = (root: object, vars: Record<string, unknown>) => readonly unknown[];

/** A fhirpath.js internal value (a date or time such as %now or %today): a class instance carrying its text. */
function isInternalValue(item: unknown): item is { readonly asStr: string } {
  return typeof item === 'object' && item !== null && !isPlainObject(item) && typeof (item as { asStr?: unknown }).asStr === 'string';
}

/** A result item as fhirpath.js gives it: unboxed, and an internal date or time as its text (resolveInternalTypes). */
function resolved(item: unknown): unknown {
  return isInternalValue(item) ? item.asStr : plain(item);
}

/**
 * Compiles an expression natively when the subset covers it.
 * @param expression - FHIRPath text (already checked by the pack loader).
 * @param functions - the pack's own functions.
 * @param tree - the expression's parse tree, when the caller already has it.
 * @returns the compiled function, or the reason it is not covered.
 */
export function compileNative(expression: string, functions: ReadonlyMap<string, NativeFunction>, tree?: AstNode): NativeFn | { readonly unsupported: string } {
  let plan: Plan;
  let defined: ReadonlySet<string>;
  try {
    const root = tree ?? parseTree(expression);
    defined = new Set(definedNames(root).filter((n): n is string => n !== undefined));
    plan = new Compiler(functions, defined).expression(root);
  } catch (err) {
    if (err instanceof Unsupported) return { unsupported: err.message };
    throw err;
  }
  return (root, vars) => {
    const self = [root];
    const out = plan.run(self, defined.size > 0 ? { vars, self, defs: {} } : { vars, self });
    // Unboxed only when something is boxed: most results are handed on as they are (and are never changed).
    for (const item of out) if (item instanceof Untyped || isInternalValue(item)) return out.map(resolved);
    return out;
  };
}
