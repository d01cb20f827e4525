/**
 * Compiles a pack's files into a RulePack and checks everything a rule author can get wrong: expressions that
 * do not parse, unknown functions or variables, criteria, value sets, sources, thresholds or placeholders that
 * do not exist, cycles between criteria, duplicate ids, expressions that fail on an empty record, and a card about
 * an order that does not say which.
 */
import { DefinitionError } from '../services/service-definitions.js';
import { compileExpression, readExpression, evaluationTime, unknownFunctions, userFunctions } from './expressions.js';
import type { PackFiles, RawRule } from './load-pack.js';
import { planOf } from './evaluation-plan.js';
import { ruleDigest, sharedDigest } from './pack-digests.js';
import { packFunctions } from './native/functions.js';
import { BUILT_IN_VARIABLES } from './parse-tree.js';
import { CONTEXT_VARIABLES, DATA_VARIABLES } from './pack-types.js';
import type { CardTemplate, CompiledExpression, CoverageTemplate, Criterion, Rule, RulePack, Source, Threshold } from './pack-types.js';
import { appCriteria, appPitfalls } from './app-view.js';
import { placeholdersIn, readPlaceholder } from './placeholders.js';
import { compileValueSet } from './value-sets.js';
import type { CompiledValueSet } from './value-sets.js';

interface Scope {
  readonly files: PackFiles;
  readonly valueSets: ReadonlyMap<string, CompiledValueSet>;
  readonly criteriaNames: ReadonlySet<string>;
  readonly thresholdIds: ReadonlySet<string>;
  readonly table: ReturnType<typeof userFunctions>;
  readonly natives: ReturnType<typeof packFunctions>;
  /** Expressions compiled so far, by text: a text written in several places is parsed and compiled once. */
  readonly compiled: Map<string, CompiledExpression>;
}

/** FHIRPath's (and fhirpath.js's) variables that need services a rule pack does not have, and what to use instead. */
const UNSUPPORTED_VARIABLES: ReadonlyMap<string, string> = new Map([
  ['terminologies', "rules run without a terminology server; list the codes in a value set of the pack and use inValueSet('id') or codedIn('id')"],
  ['factory', 'rules read the record and do not build new FHIR values'],
  ['server', 'rules read only the record the hook call brought'],
]);

function compileChecked(text: string, where: string, scope: Scope): CompiledExpression {
  // Its checks depend only on the text and the pack, so a text that passed them once passes them everywhere.
  const done = scope.compiled.get(text);
  if (done) return done;
  let use;
  try {
    use = readExpression(text);
  } catch (err) {
    throw new DefinitionError(`${where}: expression does not parse: ${String(err)}\n  ${text}`);
  }
  for (const name of use.defined) {
    if (name === undefined) throw new DefinitionError(`${where}: defineVariable() takes its name as a string literal\n  ${text}`);
    if (CONTEXT_VARIABLES.has(name) || scope.criteriaNames.has(name) || BUILT_IN_VARIABLES.has(name) || UNSUPPORTED_VARIABLES.has(name)) {
      throw new DefinitionError(`${where}: defineVariable('${name}') reuses the name of a context variable or criterion; choose another\n  ${text}`);
    }
  }
  for (const v of use.variables) {
    const unsupported = UNSUPPORTED_VARIABLES.get(v);
    if (unsupported) throw new DefinitionError(`${where}: %${v} is a FHIRPath variable this service does not provide: ${unsupported}\n  ${text}`);
    if (!CONTEXT_VARIABLES.has(v) && !scope.criteriaNames.has(v) && !BUILT_IN_VARIABLES.has(v)) {
      throw new DefinitionError(`${where}: unknown variable %${v} (neither a context variable nor a criterion)\n  ${text}`);
    }
  }
  for (const id of use.valueSets) {
    if (!scope.valueSets.has(id)) throw new DefinitionError(`${where}: unknown value set "${id}"\n  ${text}`);
  }
  for (const { fn, pattern } of use.patterns) {
    // A pattern from record data would be compiled per request, grow the regex caches and could be made to backtrack.
    if (pattern === undefined) throw new DefinitionError(`${where}: ${fn}() takes its regular expression as a string literal\n  ${text}`);
    try {
      new RegExp(pattern, fn === 'textMatches' ? 'i' : 'us');
    } catch (err) {
      throw new DefinitionError(`${where}: ${fn}('${pattern}') is not a regular expression: ${(err as Error).message}\n  ${text}`);
    }
  }
  const unknown = unknownFunctions(use.functions, scope.table);
  if (unknown.length > 0) throw new DefinitionError(`${where}: unknown function ${unknown.join(', ')}()\n  ${text}`);
  const thresholds = new Set([...text.matchAll(/%thresholds\.([A-Za-z]\w*)/g)].map((m) => m[1] ?? ''));
  for (const t of thresholds) if (!scope.thresholdIds.has(t)) throw new DefinitionError(`${where}: unknown threshold %thresholds.${t}\n  ${text}`);
  const compiled = { text, ...compileExpression(text, scope.table, scope.natives, use.tree), variables: use.variables, thresholds, valueSets: use.valueSets };
  scope.compiled.set(text, compiled);
  return compiled;
}

/**
 * Criteria in dependency order, each with what it reads through the criteria it reads. A criterion is per order
 * when it reads %order directly or through another; one that names another order (forOrder) only when naming it
 * does, since its expression reads that order, not the one judged.
 * @param criteria - the criteria as compiled, by name.
 * @param orderDeps - for criteria with forOrder: the criteria naming the other order reads.
 */
function orderCriteria(criteria: Map<string, Criterion>, orderDeps: ReadonlyMap<string, readonly string[]>): Map<string, Criterion> {
  const ordered = new Map<string, Criterion>();
  const visiting = new Set<string>();
  const visit = (c: Criterion, path: string[]): void => {
    if (ordered.has(c.name)) return;
    if (visiting.has(c.name)) throw new DefinitionError(`${c.file}: criteria depend on each other in a cycle: ${[...path, c.name].join(' -> ')}`);
    visiting.add(c.name);
    for (const dep of c.dependsOn) visit(criteria.get(dep) as Criterion, [...path, c.name]);
    visiting.delete(c.name);
    const perOrder = c.perOrder || (orderDeps.get(c.name) ?? c.dependsOn).some((d) => ordered.get(d)?.perOrder === true);
    const thresholds = [...new Set([...c.thresholds, ...c.dependsOn.flatMap((d) => ordered.get(d)?.thresholds ?? [])])];
    // Data read through a value criterion is data this criterion reads: when it is missing, the value is missing.
    const reads = [...new Set([...c.reads, ...c.dependsOn.flatMap((d) => (ordered.get(d)?.kind === 'value' ? (ordered.get(d)?.reads ?? []) : []))])];
    ordered.set(c.name, { ...c, perOrder, thresholds, reads });
  };
  for (const c of criteria.values()) visit(c, []);
  return ordered;
}

function compileCriteria(scope: Scope): Map<string, Criterion> {
  const criteria = new Map<string, Criterion>();
  const orderDeps = new Map<string, string[]>();
  for (const { name, raw, file } of scope.files.criteria) {
    if (CONTEXT_VARIABLES.has(name)) throw new DefinitionError(`${file}: criterion ${name} has the name of a context variable`);
    const where = `${file}: criterion ${name}`;
    const expression = raw.expression ? compileChecked(raw.expression, where, scope) : undefined;
    const evidence = raw.evidence ? compileChecked(raw.evidence, `${where} (evidence)`, scope) : undefined;
    const forOrder = raw.forOrder ? compileChecked(raw.forOrder, `${where} (forOrder)`, scope) : undefined;
    const parts = [expression, evidence, forOrder].filter((e) => e !== undefined);
    const vars = new Set(parts.flatMap((e) => [...e.variables]));
    if (vars.has(name)) throw new DefinitionError(`${where}: reads itself`);
    criteria.set(name, {
      name,
      description: raw.description,
      kind: raw.kind ?? 'boolean',
      ...(expression ? { expression } : {}),
      ...(evidence ? { evidence } : {}),
      ...(forOrder ? { forOrder } : {}),
      dependsOn: [...vars].filter((v) => scope.criteriaNames.has(v)),
      reads: [...vars].filter((v) => (DATA_VARIABLES as readonly string[]).includes(v)),
      perOrder: (forOrder?.variables ?? vars).has('order'),
      thresholds: parts.flatMap((e) => [...e.thresholds]),
      file,
    });
    if (forOrder) orderDeps.set(name, [...forOrder.variables].filter((v) => scope.criteriaNames.has(v)));
  }
  return orderCriteria(criteria, orderDeps);
}

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(stringsIn);
  return [];
}

function cardTexts(card: CardTemplate): string[] {
  return [card.summary, card.detail ?? '', ...(card.links ?? []).flatMap((l) => [l.url, l.appContext ?? '', l.label]), ...stringsIn(card.suggestions ?? [])];
}

function checkCardText(card: CardTemplate, where: string, pack: { criteria: ReadonlyMap<string, Criterion>; thresholds: ReadonlyMap<string, Threshold> }): void {
  for (const text of cardTexts(card).flatMap(placeholdersIn)) {
    const p = readPlaceholder(text);
    const ok =
      p !== undefined &&
      (p.kind === 'order' || p.kind === 'orderReference' || p.kind === 'orderSubject' || p.kind === 'baseUrl' || (p.kind === 'evidence' && (p.name === undefined || pack.criteria.has(p.name))) ||
        (p.kind === 'criterion' && pack.criteria.has(p.name)) || (p.kind === 'threshold' && pack.thresholds.has(p.name)));
    if (!ok) throw new DefinitionError(`${where}: card placeholder {{${text}}} names nothing the pack defines`);
  }
}

/** Whether a card's detail names the order it is about. */
function namesItsOrder(card: CardTemplate): boolean {
  return placeholdersIn(card.detail ?? '').some((text) => {
    const kind = readPlaceholder(text)?.kind;
    return kind === 'order' || kind === 'orderReference';
  });
}

/** The texts of a coverage conclusion that may hold placeholders. */
function coverageTexts(coverage: NonNullable<RawRule['coverage']>): string[] {
  return [coverage.reason, coverage.satisfiedPaId ?? ''];
}

/** A coverage conclusion is filled per order from criteria only: no evidence lists, thresholds or links. */
function checkCoverageText(coverage: NonNullable<RawRule['coverage']>, where: string, pack: { criteria: ReadonlyMap<string, Criterion> }): void {
  for (const text of coverageTexts(coverage).flatMap(placeholdersIn)) {
    const p = readPlaceholder(text);
    if (p?.kind !== 'criterion' || !pack.criteria.has(p.name)) throw new DefinitionError(`${where}: coverage placeholder {{${text}}} is not a criterion of the pack`);
  }
}

/**
 * A rule's coverage conclusion, checked, with its sources: its own, or its card's. Every rule names the sources it
 * rests on; a conclusion without a card has no other place to name them.
 */
function coverageOf(raw: NonNullable<RawRule['coverage']>, card: CardTemplate | undefined, where: string, pack: Omit<RulePack, 'rules'>): CoverageTemplate {
  const sources = raw.sources ?? card?.sources;
  if (!sources) throw new DefinitionError(`${where}: a coverage conclusion without a card names the sources it rests on (coverage.sources)`);
  for (const s of sources) if (!pack.sources.has(s)) throw new DefinitionError(`${where}: coverage conclusion cites unknown source "${s}"`);
  const coverage = { ...raw, sources };
  checkCoverageText(coverage, where, pack);
  return coverage;
}

/** Criteria the card's and the coverage conclusion's placeholders name. */
function namedCriteria(card: CardTemplate | undefined, coverage: RawRule['coverage']): string[] {
  const names = new Set<string>();
  for (const text of [...(card ? cardTexts(card) : []), ...(coverage ? coverageTexts(coverage) : [])].flatMap(placeholdersIn)) {
    const p = readPlaceholder(text);
    if ((p?.kind === 'criterion' || p?.kind === 'evidence') && p.name) names.add(p.name);
  }
  return [...names];
}

function ruleThresholds(card: CardTemplate | undefined, when: CompiledExpression, pack: Omit<RulePack, 'rules'>): { thresholds: string[]; namedThresholds: string[] } {
  const fromCard = (card ? cardTexts(card) : []).flatMap(placeholdersIn).flatMap((t) => {
    const p = readPlaceholder(t);
    return p?.kind === 'threshold' ? [p.name] : [];
  });
  const fromCriteria = [...when.variables].flatMap((v) => pack.criteria.get(v)?.thresholds ?? []);
  return { thresholds: [...new Set([...when.thresholds, ...fromCriteria, ...fromCard])], namedThresholds: [...new Set([...when.thresholds, ...fromCard])] };
}

/**
 * A CRD External Reference card (cards.html#external-reference) has at least one link, every link absolute, and no
 * suggestions: each cited source's url becomes one of its links.
 */
function checkExternalReference(card: CardTemplate, where: string, pack: Omit<RulePack, 'rules'>): void {
  if (card.suggestions?.length) throw new DefinitionError(`${where}: an external reference card has no suggestions`);
  if (card.links?.some((l) => l.type !== 'absolute')) throw new DefinitionError(`${where}: an external reference card links with type absolute only`);
  if (!card.links?.length && !card.sources.some((id) => pack.sources.get(id)?.url)) {
    throw new DefinitionError(`${where}: an external reference card needs a link: a url on one of its sources, or a link of its own`);
  }
}

function compileRules(scope: Scope, pack: Omit<RulePack, 'rules'>, seenRuleIds: Set<string>): Rule[] {
  return scope.files.rules.map(({ raw, file, testsFile }) => {
    if (seenRuleIds.has(raw.id)) throw new DefinitionError(`${file}: rule id ${raw.id} is used by another rule`);
    seenRuleIds.add(raw.id);
    const where = `${file}: rule ${raw.id}`;
    if (raw.scope === 'order' && !raw.orders) throw new DefinitionError(`${where}: a rule of scope order needs "orders"`);
    if (raw.scope === 'patient' && raw.orders) throw new DefinitionError(`${where}: a rule of scope patient cannot have "orders"`);
    if (raw.coverage && raw.scope !== 'order') throw new DefinitionError(`${where}: a coverage conclusion is per order; use scope order`);
    const when = compileChecked(raw.when, `${where} (when)`, scope);
    if (raw.scope === 'patient' && [...when.variables].some((v) => v === 'order' || pack.criteria.get(v)?.perOrder)) {
      throw new DefinitionError(`${where}: a rule of scope patient reads %order`);
    }
    const orders = raw.orders ? compileChecked(raw.orders, `${where} (orders)`, scope) : undefined;
    if (raw.card) {
      for (const s of raw.card.sources) if (!pack.sources.has(s)) throw new DefinitionError(`${where}: card cites unknown source "${s}"`);
      if (raw.card.suggestions?.length && !raw.card.selectionBehavior) throw new DefinitionError(`${where}: a card with suggestions needs selectionBehavior`);
      if (raw.card.combineOrders && raw.scope !== 'order') throw new DefinitionError(`${where}: combineOrders joins the cards of several orders; use scope order`);
      if (raw.card.combineOrders && raw.card.suggestions?.length) throw new DefinitionError(`${where}: combineOrders cannot join suggestions, whose actions are per order`);
      if (raw.card.externalReference) checkExternalReference(raw.card, where, pack);
      checkCardText(raw.card, where, pack);
      if (raw.scope === 'order' && !namesItsOrder(raw.card)) {
        throw new DefinitionError(`${where}: a card about an order names it in its detail ({{order}} or {{orderReference}}): CRD asks a card about some of a call's orders to say which`);
      }
    }
    const coverage = raw.coverage ? coverageOf(raw.coverage, raw.card, where, pack) : undefined;
    return {
      id: raw.id,
      version: raw.version,
      title: raw.title,
      ...(raw.description ? { description: raw.description } : {}),
      hooks: raw.hooks,
      scope: raw.scope,
      ...(orders ? { orders } : {}),
      when,
      criteria: [...when.variables].filter((v) => pack.criteria.has(v)),
      placeholderCriteria: namedCriteria(raw.card, raw.coverage),
      ...ruleThresholds(raw.card, when, pack),
      ...(raw.card ? { card: raw.card } : {}),
      ...(coverage ? { coverage } : {}),
      file,
      testsFile,
      digest: ruleDigest(raw),
    };
  });
}

/** Evaluates every expression once against an empty record: what fails here would fail in production. */
function dryRun(pack: RulePack): void {
  const vars: Record<string, unknown> = {
    ...Object.fromEntries(DATA_VARIABLES.map((v) => [v, []])),
    draftOrders: [],
    order: [],
    ...evaluationTime(new Date('2026-01-01T00:00:00Z')),
    thresholds: planOf(pack).thresholds,
    ...Object.fromEntries([...pack.criteria.keys()].map((c) => [c, []])),
  };
  const run = (e: CompiledExpression | undefined, where: string): void => {
    if (!e) return;
    try {
      e.fn({}, vars);
    } catch (err) {
      throw new DefinitionError(`${where}: expression fails on an empty record: ${String(err)}\n  ${e.text}`);
    }
  };
  for (const c of pack.criteria.values()) {
    run(c.expression, `${c.file}: criterion ${c.name}`);
    run(c.evidence, `${c.file}: criterion ${c.name} (evidence)`);
    run(c.forOrder, `${c.file}: criterion ${c.name} (forOrder)`);
  }
  for (const r of pack.rules) {
    run(r.when, `${r.file}: rule ${r.id} (when)`);
    run(r.orders, `${r.file}: rule ${r.id} (orders)`);
  }
}

/**
 * The pack's value sets, each included value set found among them and none including itself, directly or not.
 * @param files - the pack's files.
 * @returns the value sets by id.
 */
function compileValueSets(files: PackFiles): Map<string, CompiledValueSet> {
  const valueSets = new Map<string, CompiledValueSet>();
  const byUrl = new Map<string, CompiledValueSet>();
  const fileOf = new Map<string, string>();
  for (const { resource, file } of files.valueSets) {
    let vs: CompiledValueSet;
    try {
      vs = compileValueSet(resource, file, (url) => byUrl.get(url));
    } catch (err) {
      throw new DefinitionError((err as Error).message);
    }
    if (valueSets.has(vs.id)) throw new DefinitionError(`${file}: value set id ${vs.id} is used twice`);
    if (byUrl.has(vs.url)) throw new DefinitionError(`${file}: value set url ${vs.url} is used twice`);
    valueSets.set(vs.id, vs);
    byUrl.set(vs.url, vs);
    fileOf.set(vs.url, file);
  }
  const visit = (vs: CompiledValueSet, path: string[]): void => {
    for (const url of vs.includesValueSets) {
      const member = byUrl.get(url);
      if (!member) throw new DefinitionError(`${fileOf.get(vs.url) ?? vs.id}: compose.include names value set ${url}, which is not one of the pack's`);
      if (path.includes(url)) throw new DefinitionError(`${fileOf.get(vs.url) ?? vs.id}: value sets include each other in a cycle: ${[...path, url].join(' -> ')}`);
      visit(member, [...path, url]);
    }
  };
  for (const vs of valueSets.values()) visit(vs, [vs.url]);
  return valueSets;
}

/**
 * Refuses a deployment's value for a threshold above the most it can mean (a relief of 150 %: its card would never
 * say the response is documented), a typo rather than a choice.
 * @param t - the threshold, as the pack defines it.
 * @param value - the deployment's value (THRESHOLDS_FILE, or a rule case's thresholds).
 * @throws DefinitionError naming the threshold, the value and the maximum.
 */
export function checkOverride(t: Pick<Threshold, 'id' | 'unit' | 'maximum'>, value: number): void {
  if (t.maximum !== undefined && value > t.maximum) throw new DefinitionError(`threshold ${t.id} set to ${String(value)} ${t.unit}, above the most it can be (${String(t.maximum)} ${t.unit})`);
}

/**
 * Compiles and checks a pack.
 * @param files - the pack's files, schema-checked.
 * @param thresholdOverrides - deployment values by threshold id (from THRESHOLDS_FILE).
 * @param seenRuleIds - rule ids of packs loaded before this one (ids are unique across packs).
 * @returns the compiled pack.
 * @throws DefinitionError naming the file, the rule or criterion, and the expression.
 */
export function compilePack(files: PackFiles, thresholdOverrides: Readonly<Record<string, number>> = {}, seenRuleIds = new Set<string>()): RulePack {
  const packFile = `${files.dir}/pack.yaml`;
  const sources = new Map<string, Source>(Object.entries(files.pack.sources).map(([id, s]) => [id, { id, ...s }]));
  const thresholds = new Map<string, Threshold>(
    Object.entries(files.pack.thresholds ?? {}).map(([id, t]) => {
      if (!sources.has(t.source)) throw new DefinitionError(`${packFile}: threshold ${id} cites unknown source "${t.source}"`);
      if (t.maximum !== undefined && t.value > t.maximum) throw new DefinitionError(`${packFile}: threshold ${id} is ${String(t.value)}, above its maximum ${String(t.maximum)}`);
      const override = thresholdOverrides[id];
      if (override !== undefined) checkOverride({ id, ...t }, override);
      return [id, { id, ...t, value: override ?? t.value, overridden: override !== undefined }];
    })
  );
  const valueSets = compileValueSets(files);
  const table = userFunctions(valueSets);
  const scope: Scope = { files, valueSets, table, natives: packFunctions(valueSets), criteriaNames: new Set(files.criteria.map((c) => c.name)), thresholdIds: new Set(thresholds.keys()), compiled: new Map() };
  const criteria = compileCriteria(scope);
  const app = files.pack.app;
  if (app) {
    for (const n of appCriteria(app)) if (!criteria.has(n)) throw new DefinitionError(`${packFile}: app names unknown criterion ${n}`);
    for (const p of appPitfalls(app)) {
      for (const s of p.sources) if (!sources.has(s)) throw new DefinitionError(`${packFile}: app pitfall "${p.text}" cites unknown source "${s}"`);
    }
    // The first variant whose `when` holds is chosen (src/smart/app-evaluation.ts); one whose criteria are all
    // among an earlier variant's holds only when that one does, so it is never chosen.
    const variants = app.variants ?? [];
    variants.forEach((v, i) => {
      const earlier = variants.slice(0, i).find((e) => v.when.every((n) => e.when.includes(n)));
      if (earlier) throw new DefinitionError(`${packFile}: app variant "${v.name}" can never be chosen: the variant "${earlier.name}" before it is chosen whenever its criteria (${v.when.join(', ')}) are met`);
    });
  }
  const base = { id: files.pack.id, version: files.pack.version, title: files.pack.title, description: files.pack.description, dir: files.dir, sources, thresholds, valueSets, criteria, ...(app ? { app } : {}), digest: sharedDigest(files) };
  const pack: RulePack = { ...base, rules: compileRules(scope, base, seenRuleIds) };
  dryRun(pack);
  return pack;
}
