/**
 * The one generic runner for the test cases beside every rule (rules/<id>.tests.yaml): builds the hook call a case
 * describes, runs it through request parsing and the engine, and compares what the rule did with what the case
 * expects. Used by the vitest suite and by `npm run rules:check`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { composeCard, summaryBeforeFit } from '../cards/compose.js';
import { findingCoverage } from '../cards/coverage-information.js';
import { answerQuery } from '../fhir/answer-query.js';
import { splitEntries } from '../fhir/fhir-client.js';
import { applyChanges, fixtureRecord } from '../fhir/fixture-record.js';
import { parseHookRequest } from '../hooks/parse-request.js';
import { fillTemplate } from '../hooks/prefetch-template.js';
import { MAX_SUMMARY_LENGTH } from '../hooks/wire-json.js';
import type { Card, HookName, HookRequest } from '../hooks/types.js';
import { PATIENT_HOOKS } from '../hooks/types.js';
import type { ServiceDefinition } from '../services/service-definitions.js';
import { contextFromInput } from '../engine/context.js';
import { evaluatePack } from '../engine/evaluate.js';
import { referenceOf } from '../fhir/json.js';
import { encounterPartReferences } from '../fhir/encounter-parts.js';
import type { Finding } from '../engine/evaluate.js';
import { readChecked, schemaValidators } from '../engine/load-pack.js';
import { withThresholds } from '../engine/rule-packs.js';
import { ORDER_TYPES } from '../engine/pack-types.js';
import type { Rule, RulePack } from '../engine/pack-types.js';

/** One case as written. */
export interface RuleCase {
  name: string;
  now: string;
  input: {
    request?: string;
    patient?: string;
    hook?: HookName;
    orders?: string;
    draftOrders?: Resource[];
    selections?: string[];
    without?: string[];
    with?: Resource[];
    unavailable?: string[];
    unfiltered?: string[];
    thresholds?: Record<string, number>;
  };
  expect: {
    fires: boolean;
    findings?: { order?: string; indicator?: string; summary?: string; detailContains?: string[]; detailLacks?: string[]; evidence?: string[]; coverage?: Record<string, unknown> }[];
  };
}

/** The outcome of one case. */
export interface CaseOutcome {
  readonly rule: Rule;
  readonly caseName: string;
  readonly problems: readonly string[];
  readonly findings: readonly Finding[];
  readonly cards: readonly Card[];
  /** Whether the rule fired in this case. */
  readonly fired: boolean;
}

/** Where cases find their data. */
export interface CaseEnvironment {
  readonly services: readonly ServiceDefinition[];
  /** The fhir-fixtures folder. */
  readonly fixturesRoot: string;
  readonly schemaDir: string;
  readonly publicBaseUrl: string;
}

/** A search query with only its patient parameter: what a client that ignores the template's filters sends. */
function patientOnly(query: string): string {
  const [type, params = ''] = query.split('?');
  const patient = new URLSearchParams(params).get('patient');
  return patient === null ? query : `${type ?? ''}?patient=${encodeURIComponent(patient)}`;
}

/** Who a case's order-dispatch call sends the orders to. */
const CASE_PERFORMER = 'Organization/it-home-infusion-pharmacy';

/** A hook request body as a case builds or reads it: what turning it into an order-dispatch needs. */
interface CaseRequest {
  readonly hook: string;
  readonly context: { readonly patientId: string; readonly draftOrders?: { readonly entry?: readonly { readonly resource?: Resource }[] } };
}

/**
 * An order-dispatch call for the orders a case's order-sign request signs: the same record, the orders named by
 * reference (they are what the service would read), a performer.
 */
function asDispatch(body: CaseRequest): { body: unknown; dispatched: Resource[] } {
  const dispatched = (body.context.draftOrders?.entry ?? []).flatMap((e) => (e.resource && ORDER_TYPES.has(e.resource.resourceType) ? [e.resource] : []));
  const context = { patientId: body.context.patientId, dispatchedOrders: dispatched.map(referenceOf), performer: CASE_PERFORMER };
  return { body: { ...body, hook: 'order-dispatch', context }, dispatched };
}

/**
 * A case's hook request, the Medications of its record (what the service would read when referenced), and on
 * order-dispatch the orders it names.
 */
function requestBody(c: RuleCase, env: CaseEnvironment, service: ServiceDefinition): { body: unknown; medications: Resource[]; dispatched?: Resource[]; encounterParts?: Resource[] } {
  if (c.input.request) {
    const body = JSON.parse(readFileSync(c.input.request, 'utf8')) as CaseRequest;
    return service.hook === 'order-dispatch' && body.hook !== 'order-dispatch' ? { ...asDispatch(body), medications: [] } : { body, medications: [] };
  }
  const changes = { ...(c.input.without ? { without: c.input.without } : {}), ...(c.input.with ? { with: c.input.with } : {}) };
  const record = fixtureRecord(env.fixturesRoot, c.input.patient ?? '', changes);
  const patient = record.find((r) => r.resourceType === 'Patient' && r.id?.startsWith('it-'));
  const allOrders = c.input.orders ? (JSON.parse(readFileSync(join(env.fixturesRoot, 'orders', `${c.input.orders}.json`), 'utf8')) as Resource[]) : (c.input.draftOrders ?? []);
  const orders = applyChanges(allOrders, { ...(c.input.without ? { without: c.input.without } : {}) });
  const context: Record<string, unknown> = { userId: 'Practitioner/it-prac-1', patientId: patient?.id ?? 'unknown' };
  // The encounter hooks are about one encounter: on encounter-start, the Encounter a case lists as its draftOrders
  // (the visit starting, on the EHR's server beside the record, with the Appointment or ServiceRequest it names when
  // the case lists them too); otherwise one the case does not otherwise name.
  const encounter = service.hook === 'encounter-start' ? orders.find((r) => r.resourceType === 'Encounter') : undefined;
  if (service.hook === 'encounter-start' || service.hook === 'encounter-discharge') context['encounterId'] = encounter?.id ?? 'it-case-encounter';
  const served = encounter ? [...record, ...orders] : record;
  const encounterParts = encounter ? encounterPartReferences(encounter).flatMap((key) => served.filter((r) => referenceOf(r) === key)) : [];
  // appointment-book books Appointments (a case lists them as its draftOrders); the other order hooks sign drafts.
  if (!PATIENT_HOOKS.has(service.hook)) context[service.hook === 'appointment-book' ? 'appointments' : 'draftOrders'] = { resourceType: 'Bundle', type: 'collection', entry: orders.map((resource) => ({ resource })) };
  const recordMedications = record.filter((r) => r.resourceType === 'Medication');
  if (service.hook === 'order-select') context['selections'] = c.input.selections ?? orders.map(referenceOf);
  const prefetch: Record<string, unknown> = {};
  for (const key of service.prefetch) {
    if (c.input.unavailable?.includes(key.key)) continue;
    const query = fillTemplate(key.parsed, context as unknown as HookRequest['context']);
    if (query) prefetch[key.key] = answerQuery(c.input.unfiltered?.includes(key.key) ? patientOnly(query) : query, served);
  }
  const body = { hook: service.hook, hookInstance: `rule-test-${c.name}`, context, prefetch };
  if (service.hook === 'order-dispatch') return { ...asDispatch(body as unknown as CaseRequest), medications: recordMedications };
  return { body, medications: recordMedications, ...(encounterParts.length > 0 ? { encounterParts } : {}) };
}

function compare(c: RuleCase, findings: Finding[], cards: Card[], summaries: readonly string[]): string[] {
  const problems: string[] = [];
  const fired = findings.length > 0;
  if (fired !== c.expect.fires) problems.push(`expected the rule ${c.expect.fires ? 'to fire' : 'not to fire'}, but it ${fired ? `fired (${findings.length}x)` : 'did not'}`);
  // The wire cuts a longer summary (the spec: "<140 characters"); a rule's summary should fit whole in every case.
  for (const summary of summaries) if (summary.length > MAX_SUMMARY_LENGTH) problems.push(`summary of ${summary.length} characters, which the wire cuts at ${MAX_SUMMARY_LENGTH}: ${summary}`);
  // A case that lists findings lists them all: a rule that also fired for an order the case did not name is a change.
  if (c.expect.findings && fired && findings.length !== c.expect.findings.length) {
    const produced = findings.map((f) => (f.order ? referenceOf(f.order) : 'the patient')).join(', ');
    problems.push(`${findings.length} findings (${produced}), but the case lists ${c.expect.findings.length}: list every finding the rule makes`);
  }
  (c.expect.findings ?? []).forEach((exp, i) => {
    const index = exp.order ? findings.findIndex((f) => f.order && referenceOf(f.order) === exp.order) : i;
    const finding = findings[index];
    const card = cards[index];
    if (!finding) {
      problems.push(`finding ${i}${exp.order ? ` for ${exp.order}` : ''}: not produced`);
      return;
    }
    if (exp.indicator && card?.indicator !== exp.indicator) problems.push(`finding ${i}: indicator ${card?.indicator ?? 'none'}, expected ${exp.indicator}`);
    if (exp.summary !== undefined && card?.summary !== exp.summary) problems.push(`finding ${i}: summary\n      was:      ${card?.summary ?? ''}\n      expected: ${exp.summary}`);
    for (const part of exp.detailContains ?? []) if (!card?.detail?.includes(part)) problems.push(`finding ${i}: detail lacks "${part}"`);
    for (const part of exp.detailLacks ?? []) if (card?.detail?.includes(part)) problems.push(`finding ${i}: detail has "${part}", which it should not`);
    if (exp.evidence) {
      const actual = finding.evidence.map((e) => e.reference).sort();
      if (JSON.stringify(actual) !== JSON.stringify([...exp.evidence].sort())) problems.push(`finding ${i}: evidence ${JSON.stringify(actual)}, expected ${JSON.stringify([...exp.evidence].sort())}`);
    }
    for (const [k, v] of Object.entries(exp.coverage ?? {})) {
      const actual = finding.rule.coverage ? (findingCoverage(finding) as unknown as Record<string, unknown>)[k] : undefined;
      if (JSON.stringify(actual) !== JSON.stringify(v)) problems.push(`finding ${i}: coverage.${k} ${JSON.stringify(actual)}, expected ${JSON.stringify(v)}`);
    }
  });
  return problems;
}

/**
 * Runs one case of a rule.
 * @param pack - the pack the rule belongs to.
 * @param rule - the rule.
 * @param c - the case.
 * @param env - services and fixtures.
 * @returns what happened and what differs from the expectation.
 */
export function runCase(pack: RulePack, rule: Rule, c: RuleCase, env: CaseEnvironment): CaseOutcome {
  const hook = c.input.hook ?? ((JSON.parse(readFileSync(c.input.request ?? '', 'utf8')) as { hook: HookName }).hook);
  const service = env.services.find((s) => s.hook === hook);
  if (!service) return { rule, caseName: c.name, problems: [`no service answers hook ${hook}`], findings: [], cards: [], fired: false };
  const undeclared = [...(c.input.unavailable ?? []), ...(c.input.unfiltered ?? [])].filter((k) => !service.prefetch.some((p) => p.key === k));
  if (undeclared.length > 0) return { rule, caseName: c.name, problems: [`the ${hook} service declares no prefetch key ${undeclared.join(', ')}`], findings: [], cards: [], fired: false };
  // A required key that cannot be had ends the call with 412 (assemble-data.ts): no rule runs, nothing is "not known".
  const required = (c.input.unavailable ?? []).filter((k) => service.prefetch.some((p) => p.key === k && p.required));
  if (required.length > 0) return { rule, caseName: c.name, problems: [`the ${hook} service requires ${required.join(', ')}: without it the service answers 412 and no rule runs; only optional keys can be unavailable`], findings: [], cards: [], fired: false };
  let request: HookRequest;
  let medications: Resource[];
  let dispatched: Resource[] | undefined;
  let encounterParts: Resource[] | undefined;
  try {
    const built = requestBody(c, env, service);
    medications = built.medications;
    dispatched = built.dispatched;
    encounterParts = built.encounterParts;
    request = parseHookRequest(built.body, service);
  } catch (err) {
    return { rule, caseName: c.name, problems: [`the case's hook request is refused: ${(err as Error).message}`], findings: [], cards: [], fired: false };
  }
  // Split as data assembly splits a Bundle: the key's matches, and the Medications included beside them.
  const resources = Object.fromEntries(
    service.prefetch.flatMap((p) => {
      const v = request.prefetch[p.key];
      if (v === undefined) return [];
      if (v === null || v.resourceType !== 'Bundle') return [[p.key, v === null ? [] : [v]]];
      const split = splitEntries(v, p.parsed.resourceType);
      medications.push(...split.medications);
      return [[p.key, split.matches]];
    })
  );
  // Deployment values, as THRESHOLDS_FILE would set them: the case runs on a copy of the pack that holds them.
  const unknown = Object.keys(c.input.thresholds ?? {}).filter((id) => !pack.thresholds.has(id));
  const refused = (problem: string): CaseOutcome => ({ rule, caseName: c.name, problems: [problem], findings: [], cards: [], fired: false });
  if (unknown.length > 0) return refused(`the case sets thresholds the pack does not have: ${unknown.join(', ')}`);
  let casePack = pack;
  try {
    if (c.input.thresholds) casePack = withThresholds(pack, c.input.thresholds);
  } catch (err) {
    return refused(`the case sets ${(err as Error).message}`);
  }
  const now = new Date(c.now);
  const ctx = contextFromInput({ service, request, now, data: { resources, unavailable: [], medications, ...(dispatched ? { dispatchedOrders: dispatched } : {}), ...(encounterParts ? { encounterParts } : {}) } });
  const findings = evaluatePack(casePack, ctx).findings.filter((f) => f.rule.id === rule.id);
  let n = 0;
  const uuid = (): string => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  const options = { packs: new Map([[casePack.id, casePack]]), publicBaseUrl: env.publicBaseUrl, uuid };
  const cards = findings.flatMap((f) => composeCard(f, options) ?? []);
  const summaries = [...new Set(findings.flatMap((f) => summaryBeforeFit(f, options) ?? []))];
  return { rule, caseName: c.name, problems: compare(c, findings, cards, summaries), findings, cards, fired: findings.length > 0 };
}

/**
 * Reads the cases beside a rule.
 * @param rule - the rule.
 * @param schemaDir - cds-hooks/schema.
 * @returns the cases, or undefined when the rule has no tests file.
 */
export function readCases(rule: Rule, schemaDir: string): RuleCase[] | undefined {
  if (!existsSync(rule.testsFile)) return undefined;
  return readChecked<{ cases: RuleCase[] }>(rule.testsFile, schemaValidators(schemaDir).tests).cases;
}

/**
 * Runs every case of every rule of a pack and checks that each rule has a case where it fires and one where it
 * does not.
 * @param pack - the pack.
 * @param env - services and fixtures.
 * @returns the case outcomes and the pack-level problems (missing tests, one-sided tests).
 */
export function runPackCases(pack: RulePack, env: CaseEnvironment): { outcomes: CaseOutcome[]; problems: string[] } {
  const outcomes: CaseOutcome[] = [];
  const problems: string[] = [];
  for (const rule of pack.rules) {
    const cases = readCases(rule, env.schemaDir);
    if (!cases) {
      problems.push(`${rule.file}: rule ${rule.id} has no test cases (${rule.testsFile})`);
      continue;
    }
    const results = cases.map((c) => runCase(pack, rule, c, env));
    outcomes.push(...results);
    if (!cases.some((c) => c.expect.fires)) problems.push(`${rule.testsFile}: rule ${rule.id} has no case where it fires`);
    if (!cases.some((c) => !c.expect.fires)) problems.push(`${rule.testsFile}: rule ${rule.id} has no case where it does not fire`);
  }
  return { outcomes, problems };
}
