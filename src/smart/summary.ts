/**
 * The draft medical-necessity summary: diagnoses, device, therapy history, response, dose, monitoring, and the
 * policy criteria with how each is met. It states only what the record shows; what is missing says MISSING.
 * The reviewer edits it before it is printed or saved.
 */
import type { Patient, Resource } from '@medplum/fhirtypes';
import { describeEvidence } from '../engine/describe.js';
import { isClinicallyActive } from '../engine/item-tests.js';
import { referenceOf } from '../fhir/json.js';
import type { AppEvaluation, AppEvaluationRequest, CoverageView, CriterionView } from './app-evaluation.js';

type Parts = Omit<AppEvaluation, 'summary'>;

const MISSING = (what: string): string => `[MISSING: ${what}]`;
/** A description inside a sentence: its first letter lower-cased, names and codes (Ashworth, LOINC) kept. */
const inSentence = (text: string): string => text.charAt(0).toLowerCase() + text.slice(1);

function patientLine(p: Patient): string {
  const name = p.name?.[0];
  const text = name ? [name.given?.join(' '), name.family].filter(Boolean).join(' ') : undefined;
  return `${text ?? MISSING('patient name')}, born ${p.birthDate ?? MISSING('birth date')} (Patient/${p.id ?? ''})`;
}

function list(resources: readonly Resource[] | undefined, keep: (r: Resource) => boolean, empty: string): string[] {
  if (resources === undefined) return [`- ${MISSING(`${empty}: could not be read from the EHR`)}`];
  const lines = resources.filter(keep).map((r) => `- ${describeEvidence(referenceOf(r), r)}`);
  return lines.length > 0 ? lines : [`- ${MISSING(empty)}`];
}

// The rules' own notion (active, recurrence or relapse; not entered in error or refuted), so the summary lists what
// the criteria counted.
const isActiveCondition = (r: Resource): boolean => r.resourceType === 'Condition' && isClinicallyActive(r);
const isDevice = (r: Resource): boolean => r.resourceType === 'Device' && r.status !== 'entered-in-error';
const isProcedure = (r: Resource): boolean => r.resourceType === 'Procedure' && r.status === 'completed';

/**
 * Prior authorizations on file (preauthorization ClaimResponses). When the pack names its authorization criterion,
 * the ones the rules count come first and the rest (pending, not certified, cancelled, another insurer's) are set
 * apart, so a reviewer does not cite one the payer will not honour; a payer's answer that no authorization is needed
 * (the pack's noReviewCriterion) is said as such. Having none is no documentation gap, so not MISSING.
 */
function authorizationLines(resources: readonly Resource[] | undefined, criterion: CriterionView | undefined, noReview: readonly string[]): string[] {
  if (resources === undefined) return ['- Could not be read from the EHR.'];
  const all = resources.filter((r) => r.resourceType === 'ClaimResponse' && (r as { use?: string }).use === 'preauthorization');
  if (all.length === 0) return ['- None on record.'];
  const line = (r: Resource): string => `- ${describeEvidence(referenceOf(r), r)}`;
  if (!criterion) return all.map(line);
  const counted = new Set(criterion.status === 'met' ? criterion.evidence.map((e) => e.reference) : []);
  const notNeeded = all.filter((r) => !counted.has(referenceOf(r)) && noReview.includes(referenceOf(r)));
  const others = all.filter((r) => !counted.has(referenceOf(r)) && !noReview.includes(referenceOf(r)));
  return [
    ...all.filter((r) => counted.has(referenceOf(r))).map(line),
    ...(counted.size === 0 ? ['- None from the active plan that the rules count.'] : []),
    ...(notNeeded.length > 0 ? ['- The payer\'s latest answer: no prior authorization needed (no action required):', ...notNeeded.map((r) => `  ${line(r)}`)] : []),
    ...(others.length > 0 ? ['- On record but not counted (not active, not adjudicated, nothing certified, no authorization number, or another insurer):', ...others.map((r) => `  ${line(r)}`)] : []),
  ];
}

/** The device lines: the pack's device criterion's evidence when it names one (what the rules took for the pump), else every Device on record. */
function deviceLines(devices: readonly Resource[] | undefined, criterion: CriterionView | undefined): string[] {
  if (!criterion) return list(devices, isDevice, 'implanted pump Device');
  if (criterion.status === 'met' && criterion.evidence.length > 0) return criterion.evidence.map((e) => `- ${e.description}`);
  if (devices === undefined || criterion.status === 'not known') return [`- ${MISSING('implanted pump Device: could not be read from the EHR')}`];
  return [`- ${MISSING('implanted pump Device')}`];
}

/**
 * The therapy history lines: the pack's history criterion's evidence when it names one (procedures and trial doses
 * the rules read), else every completed procedure. What was found is listed even when part of the record could
 * not be read; that part is marked by name.
 */
function historyLines(procedures: readonly Resource[] | undefined, criterion: CriterionView | undefined, unread: readonly string[]): string[] {
  if (!criterion) return list(procedures, isProcedure, 'implant or refill procedure');
  const found = criterion.evidence.map((e) => `- ${e.description}`);
  if (unread.length > 0) return [...found, `- ${MISSING(`${found.length > 0 ? 'the rest of the therapy history' : 'therapy history'}: ${unread.join(', ')} could not be read from the EHR`)}`];
  return found.length > 0 ? found : [`- ${MISSING('implant, refill or trial procedure')}`];
}

/**
 * An order's coverage conclusion and the sources it rests on, so a reviewer can cite the policy to the payer.
 * The sources are the conclusion's own (the rules' `coverage.sources`), not every source of the pack.
 */
function conclusionLines(reference: string, coverage: CoverageView): string[] {
  const head = `- ${reference}: ${coverage.covered}${coverage.paNeeded ? `, prior authorization: ${coverage.paNeeded}` : ''}. ${coverage.reasons.join(' ')}`;
  const cited = coverage.sources.map((s) => (s.url ? `${s.title} (${s.url})` : s.title));
  return cited.length > 0 ? [head.trimEnd(), `  - Based on: ${cited.join('; ')}.`] : [head.trimEnd()];
}

/** The criteria whose evidence makes a section of the summary, when the pack names them. */
export interface SummarySections {
  readonly device?: CriterionView | undefined;
  readonly history?: CriterionView | undefined;
  /** The prior authorizations the rules count. */
  readonly authorizations?: CriterionView | undefined;
  /** The payer's answers that an order needs no prior authorization (references), listed as such. */
  readonly noReview?: readonly string[];
  /** The records the history criterion reads that could not be read. */
  readonly historyUnread?: readonly string[];
}

/**
 * Drafts the summary.
 * @param request - the record the app read.
 * @param parts - the evaluation.
 * @param established - whether the therapy is established (the criteria listed differ).
 * @param sections - the pack's device and history criteria, when it names them (their evidence is the Device and
 *   Therapy history sections).
 * @returns plain text with light markdown (headings, lists).
 */
export function draftSummary(request: AppEvaluationRequest, parts: Parts, established: boolean, sections: SummarySections = {}): string {
  const { records } = request;
  const lines: string[] = [
    'MEDICAL NECESSITY SUMMARY: INTRATHECAL DRUG DELIVERY',
    '',
    `Patient: ${patientLine(request.patient)}`,
    `Prepared: ${parts.evaluatedAt.slice(0, 10)}, from the EHR record. Items the record does not show are marked MISSING.`,
    '',
    'Diagnoses (active)',
    ...list(records.conditions, isActiveCondition, 'active diagnosis'),
    '',
    'Device',
    ...deviceLines(records.devices, sections.device),
    '',
    'Coverage',
    ...list(records.coverages, (r) => r.resourceType === 'Coverage' && r.status === 'active', 'active coverage'),
    '',
    'Prior authorizations on file',
    ...authorizationLines(records.claimResponses, sections.authorizations, sections.noReview ?? []),
    '',
    'Therapy history',
    ...historyLines(records.procedures, sections.history, sections.historyUnread ?? []),
    '',
    'Order(s) under review',
    ...(parts.orders.length > 0 ? parts.orders.flatMap((o) => [`- ${o.description}`, ...o.dose.map((d) => `  - ${d}`)]) : [`- ${MISSING('order under review')}`]),
    '',
    'Response to therapy and monitoring',
    ...parts.documentation.map((d) => `- ${d.description}: ${d.status === 'met' ? `documented (${d.evidence.map((e) => e.description).join('; ') || 'yes'})` : MISSING(d.status === 'not known' ? `${inSentence(d.description)} (could not be checked)` : inSentence(d.description))}`),
    '',
    established ? 'Policy criteria (continuation of established therapy)' : 'Policy criteria (new intrathecal therapy, implant-time criteria)',
    ...parts.policyCriteria.map((c) => `- ${c.description}: ${c.status === 'met' ? `met${c.evidence.length > 0 ? `; ${c.evidence.map((e) => e.reference).join(', ')}` : ''}` : c.status === 'not met' ? MISSING(`not shown in the record`) : MISSING('could not be checked')}`),
    '',
    'Coverage conclusion',
    ...(parts.orders.some((o) => o.coverage)
      ? parts.orders.flatMap((o) => (o.coverage ? conclusionLines(o.reference, o.coverage) : []))
      : ['- No order this review concerns.']),
  ];
  if (parts.unavailable.length > 0) lines.push('', `Not available from the EHR when this was drafted: ${parts.unavailable.join(', ')}.`);
  lines.push('', `Basis: rule pack${parts.packs.length > 1 ? 's' : ''} ${parts.packs.map((p) => `${p.id} ${p.version}`).join(', ')}; sources listed in the review.`);
  return lines.join('\n');
}
