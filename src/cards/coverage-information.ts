/**
 * Da Vinci CRD coverage-information system actions: for each draft order a pack concerns, an `update` of the order
 * carrying the ext-coverage-information extension (CRD STU 2), from the merged coverage conclusions of the rules
 * that fired for it.
 */
import type { Coding, Coverage, Extension, Resource } from '@medplum/fhirtypes';
import type { CriterionResult, Finding } from '../engine/evaluate.js';
import { canonicalJson, referenceOf } from '../fhir/json.js';
import type { CoverageTemplate } from '../engine/pack-types.js';
import { fillPlaceholders } from '../engine/placeholders.js';
import type { Placeholder } from '../engine/placeholders.js';
import type { CdsAction } from '../hooks/types.js';
import { formatResult } from './render-values.js';

/** The extension's canonical URL. */
export const COVERAGE_INFORMATION = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';

type Covered = NonNullable<CoverageTemplate['covered']>;
type PaNeeded = NonNullable<CoverageTemplate['paNeeded']>;

const COVERED_ORDER: readonly Covered[] = ['covered', 'conditional', 'not-covered'];
const PA_ORDER: readonly PaNeeded[] = ['no-auth', 'satisfied', 'performpa', 'conditional', 'auth-needed'];

/** Merged conclusion for one order. */
export interface MergedCoverage {
  readonly covered: Covered;
  readonly paNeeded?: PaNeeded;
  /** The authorization that satisfies the order, when pa-needed is satisfied. */
  readonly satisfiedPaId?: string;
  readonly docNeeded: readonly string[];
  readonly infoNeeded: readonly string[];
  readonly reasons: readonly string[];
  /** The source ids the conclusions rest on, each once (not sent: the extension has no place for them). */
  readonly sources: readonly string[];
}

/**
 * Merges the conclusions of the rules that fired for one order: not-covered over conditional over covered, the
 * strictest pa-needed, documentation and information needs, reasons and sources added up. No conclusion at all is
 * "conditional": the pack concerns the order but reached no decision.
 * @param conclusions - the rules' coverage templates.
 * @returns the merged conclusion.
 */
export function mergeCoverage(conclusions: readonly CoverageTemplate[]): MergedCoverage {
  const covereds = conclusions.flatMap((c) => (c.covered ? [c.covered] : []));
  const covered = covereds.length === 0 ? 'conditional' : covereds.reduce((a, b) => (COVERED_ORDER.indexOf(b) > COVERED_ORDER.indexOf(a) ? b : a));
  const pas = conclusions.flatMap((c) => (c.paNeeded ? [c.paNeeded] : []));
  const paNeeded = pas.length === 0 ? undefined : pas.reduce((a, b) => (PA_ORDER.indexOf(b) > PA_ORDER.indexOf(a) ? b : a));
  const reasons = conclusions.map((c) => c.reason);
  const satisfiedPaId = paNeeded === 'satisfied' ? conclusions.find((c) => c.paNeeded === 'satisfied' && c.satisfiedPaId)?.satisfiedPaId : undefined;
  return {
    covered,
    ...(paNeeded ? { paNeeded } : {}),
    ...(satisfiedPaId ? { satisfiedPaId } : {}),
    docNeeded: [...new Set(conclusions.flatMap((c) => c.docNeeded ?? []))],
    infoNeeded: [...new Set(conclusions.flatMap((c) => c.infoNeeded ?? []))],
    reasons: reasons.length > 0 ? reasons : ['No rule reached a coverage conclusion for this order; see the cards.'],
    sources: [...new Set(conclusions.flatMap((c) => c.sources))],
  };
}

/** What the system actions need besides the findings. */
export interface CoverageInformationOptions {
  /** The active Coverage the conclusions are about, when one is known. */
  readonly coverage?: Coverage;
  /** Evaluation date (yyyy-mm-dd). */
  readonly date: string;
  /** Assertion ids. */
  readonly uuid: () => string;
  /** The billing code of an order, when the pack knows it. */
  readonly billingCode: (order: Resource) => Coding | undefined;
  /** The order as the client sent it, when the one judged is a copy (its Medication put in): what the action echoes. */
  readonly asSent?: (order: Resource) => Resource;
  /** Whether doc-needed is said (not on CRD's secondary hooks, where documentation is asked later); true by default. */
  readonly askDocumentation?: boolean;
}

function extension(merged: MergedCoverage, billing: Coding | undefined, options: CoverageInformationOptions): Extension {
  const sub: Extension[] = [];
  if (options.coverage?.id) sub.push({ url: 'coverage', valueReference: { reference: `Coverage/${options.coverage.id}` } });
  sub.push({ url: 'covered', valueCode: merged.covered });
  if (merged.paNeeded) sub.push({ url: 'pa-needed', valueCode: merged.paNeeded });
  if (merged.satisfiedPaId) sub.push({ url: 'satisfied-pa-id', valueString: merged.satisfiedPaId });
  if (options.askDocumentation !== false) for (const d of merged.docNeeded) sub.push({ url: 'doc-needed', valueCode: d });
  for (const i of merged.infoNeeded) sub.push({ url: 'info-needed', valueCode: i });
  if (billing) sub.push({ url: 'billingCode', valueCoding: { ...(billing.system ? { system: billing.system } : {}), ...(billing.code ? { code: billing.code } : {}), ...(billing.display ? { display: billing.display } : {}) } });
  for (const r of merged.reasons) sub.push({ url: 'reason', valueCodeableConcept: { text: r } });
  sub.push({ url: 'date', valueDate: options.date });
  sub.push({ url: 'coverage-assertion-id', valueString: options.uuid() });
  return { url: COVERAGE_INFORMATION, extension: sub };
}

/**
 * A finding's coverage conclusion with its `{{criterion}}` placeholders filled from the finding's results. An
 * authorization number built from a criterion that is not known is left out, rather than sent as "not known".
 * @param finding - a rule that fired with a coverage conclusion.
 * @returns the conclusion as it applies to the finding's order.
 */
export function findingCoverage(finding: Finding): CoverageTemplate {
  const { satisfiedPaId, ...template } = finding.rule.coverage as CoverageTemplate;
  const result = (p: Placeholder): CriterionResult | undefined => (p.kind === 'criterion' ? finding.results.get(p.name) : undefined);
  const reason = fillPlaceholders(template.reason, (p) => formatResult(result(p)));
  let known = true;
  const paId = satisfiedPaId === undefined ? '' : fillPlaceholders(satisfiedPaId, (p) => {
    const r = result(p);
    known &&= r?.truth === true;
    return formatResult(r);
  });
  return { ...template, reason, ...(paId !== '' && known ? { satisfiedPaId: paId } : {}) };
}

/** The sub-extensions that change with every call (when, and the id of the assertion), not with what is asserted. */
const PER_CALL = new Set(['date', 'coverage-assertion-id']);

/** The coverage an annotation is about ('' when it names none). */
function coverageOf(annotation: Extension): string {
  return annotation.extension?.find((e) => e.url === 'coverage')?.valueReference?.reference ?? '';
}

/** What an annotation asserts, whatever the order of its sub-extensions and their keys: all but the per-call ones. */
function assertion(annotation: Extension): string {
  return JSON.stringify((annotation.extension ?? []).filter((e) => !PER_CALL.has(e.url)).map(canonicalJson).sort());
}

/**
 * One `update` system action per concerned order whose coverage information is new. The order keeps every other
 * extension, and the annotations about other coverages (another payer's assertion is not this call's to drop);
 * the one about the same coverage is replaced. An order that already carries what this call asserts (the EHR stored
 * an earlier answer) gets no action: CRD payers SHALL NOT send the update again unless something is new.
 * @param concerned - the orders a coverage rule concerns.
 * @param findings - every finding of the call.
 * @param options - coverage, date, ids, billing codes.
 * @returns the system actions.
 */
export function coverageInformationActions(concerned: readonly Resource[], findings: readonly Finding[], options: CoverageInformationOptions): CdsAction[] {
  return concerned.flatMap((order) => {
    const conclusions = findings.filter((f) => f.order === order && f.rule.coverage).map(findingCoverage);
    const merged = mergeCoverage(conclusions);
    const sent = options.asSent?.(order) ?? order;
    const annotation = extension(merged, options.billingCode(order), options);
    const current = (sent as { extension?: Extension[] }).extension ?? [];
    const replaced = current.filter((e) => e.url === COVERAGE_INFORMATION && coverageOf(e) === coverageOf(annotation));
    if (replaced.some((e) => assertion(e) === assertion(annotation))) return [];
    const kept = current.filter((e) => !replaced.includes(e));
    const resource = { ...sent, extension: [...kept, annotation] } as Resource;
    return [{ type: 'update', description: `Coverage information for ${referenceOf(order)}: ${merged.covered}`, resource }];
  });
}
