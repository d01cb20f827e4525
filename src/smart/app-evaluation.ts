/**
 * The whole evaluation for the SMART app: every criterion of every pack (met / not met / not known, with its
 * evidence), the cards and coverage conclusion per order, the dose lines, the documentation checklist, the pitfalls
 * and the sources, plus a draft medical-necessity summary. Pure: the browser sends the FHIR data, never the token.
 */
import type { Patient, Resource } from '@medplum/fhirtypes';
import { composeCard } from '../cards/compose.js';
import { findingCoverage, mergeCoverage } from '../cards/coverage-information.js';
import type { MergedCoverage } from '../cards/coverage-information.js';
import { formatResult } from '../cards/render-values.js';
import { describeEvidence } from '../engine/describe.js';
import { evaluatePack } from '../engine/evaluate.js';
import { withoutOrders } from '../engine/context.js';
import { referenceOf } from '../fhir/json.js';
import { inlineMedications, medicationsByKey } from '../fhir/medication-references.js';
import type { CriterionResult, EvaluationContext, Finding } from '../engine/evaluate.js';
import type { CoverageTemplate, RulePack, Source } from '../engine/pack-types.js';
import { DATA_VARIABLES } from '../engine/pack-types.js';
import type { Card } from '../hooks/types.js';
import { draftSummary } from './summary.js';

/** What the app sends. */
export interface AppEvaluationRequest {
  readonly patient: Patient;
  /** Records per data variable; a key left out could not be read. */
  readonly records: Partial<Record<(typeof DATA_VARIABLES)[number], Resource[]>>;
  /** The orders to judge (named by the card's appContext, or the patient's pending orders). */
  readonly orders: Resource[];
  /** Resources the orders and the records refer to (Medications). */
  readonly supporting?: Resource[];
  /** The EHR's FHIR base the app read from: absolute references on it resolve like relative ones. */
  readonly fhirServer?: string;
}

/** A criterion as the app shows it. */
export interface CriterionView {
  readonly name: string;
  readonly description: string;
  readonly status: 'met' | 'not met' | 'not known';
  readonly value?: string;
  readonly evidence: readonly { reference: string; description: string }[];
  readonly error?: string;
}

/** A source as the app shows it. */
export interface SourceView {
  readonly title: string;
  readonly url?: string;
  readonly confidence: string;
}

/** An order's coverage conclusion as the app shows it: the sources it rests on by title. */
export type CoverageView = Omit<MergedCoverage, 'sources'> & { readonly sources: readonly SourceView[] };

/** One order as the app shows it. */
export interface OrderView {
  readonly reference: string;
  readonly description: string;
  readonly coverage?: CoverageView;
  readonly cards: readonly Card[];
  readonly criteria: readonly CriterionView[];
  readonly dose: readonly string[];
}

/** A pitfall as the app shows it: its text and the sources it rests on by title. */
export interface PitfallView {
  readonly text: string;
  readonly sources: readonly SourceView[];
}

/** The whole view. */
export interface AppEvaluation {
  readonly evaluatedAt: string;
  readonly packs: readonly { id: string; version: string; title: string }[];
  readonly unavailable: readonly string[];
  readonly orders: readonly OrderView[];
  readonly patientCards: readonly Card[];
  readonly criteria: readonly CriterionView[];
  readonly policyCriteria: readonly CriterionView[];
  readonly documentation: readonly CriterionView[];
  /** What a reviewer should not do, each with the sources it rests on. */
  readonly pitfalls: readonly PitfallView[];
  readonly sources: readonly SourceView[];
  readonly summary: string;
}

/**
 * A criterion result as shown.
 * @param r - the result.
 * @returns the view.
 */
export function criterionView(r: CriterionResult): CriterionView {
  return {
    name: r.name,
    description: r.description,
    status: r.truth === true ? 'met' : r.truth === false ? 'not met' : 'not known',
    ...(r.value ? { value: formatResult(r) } : {}),
    evidence: r.evidence.map((e) => ({ reference: e.reference, description: describeEvidence(e.reference, e.resource) })),
    ...(r.error ? { error: r.error } : {}),
  };
}

const sourceView = (s: Source): SourceView => ({ title: s.title, ...(s.url ? { url: s.url } : {}), confidence: s.confidence });

/**
 * Evaluates everything for the app.
 * @param packs - the rule packs.
 * @param request - patient, records, orders.
 * @param now - evaluation time.
 * @param publicBaseUrl - for links on cards.
 * @returns the view.
 */
export function evaluateForApp(packs: readonly RulePack[], request: AppEvaluationRequest, now: Date, publicBaseUrl: string): AppEvaluation {
  // References to Medications the app read are resolved as the hook resolves them (see context.ts), in the records
  // and in the orders judged.
  const medications = medicationsByKey(request.supporting ?? []);
  const serverBase = request.fhirServer?.replace(/\/+$/, '');
  // The orders under review are taken out of the record the app read (an active order it was named, or fell back to).
  const records = Object.fromEntries(Object.entries(request.records).map(([key, list]) => [key, inlineMedications(withoutOrders(list, request.orders), medications, serverBase)]));
  const data = { patient: [request.patient], ...records } as EvaluationContext['data'];
  const ordersJudged = inlineMedications(request.orders, medications, serverBase);
  const draftOrders = [...ordersJudged, ...(request.supporting ?? [])];
  const base: Omit<EvaluationContext, 'hook'> = { data, draftOrders, ordersToJudge: ordersJudged, now };
  const compose = { packs: new Map(packs.map((p) => [p.id, p])), publicBaseUrl };
  const sourceViews = new Map<string, SourceView>(packs.flatMap((p) => [...p.sources.values()].map((s) => [`${p.id}/${s.id}`, sourceView(s)])));
  const coverageView = (merged: MergedCoverage): CoverageView => ({ ...merged, sources: merged.sources.flatMap((id) => sourceViews.get(id) ?? []) });
  const orders = new Map<Resource, { cards: Card[]; criteria: CriterionView[]; conclusions: CoverageTemplate[]; dose: string[] }>(
    ordersJudged.map((o) => [o, { cards: [], criteria: [], conclusions: [], dose: [] }])
  );
  const patientCards: Card[] = [];
  const criteria: CriterionView[] = [];
  const byName = new Map<string, CriterionView>();
  const concerned = new Set<Resource>();
  for (const pack of packs) {
    const sign = evaluatePack(pack, { ...base, hook: 'order-sign' }, { allCriteria: true });
    const view = evaluatePack(pack, { ...base, hook: 'patient-view', ordersToJudge: [] });
    const add = (f: Finding): void => {
      const card = composeCard(f, compose);
      if (f.order) {
        const o = orders.get(f.order);
        if (card) o?.cards.push(card);
        // Source ids are the pack's own: qualified by it until they are shown by title.
        if (f.rule.coverage) o?.conclusions.push({ ...findingCoverage(f), sources: f.rule.coverage.sources.map((id) => `${pack.id}/${id}`) });
      } else if (card && !patientCards.some((c) => c.summary === card.summary)) patientCards.push(card);
    };
    sign.findings.forEach(add);
    view.findings.forEach(add);
    sign.concerned.forEach((o) => concerned.add(o));
    for (const group of sign.criteria) {
      const views = group.results.map(criterionView);
      if (!group.order) {
        criteria.push(...views);
        for (const v of views) byName.set(v.name, v);
        continue;
      }
      const o = orders.get(group.order);
      if (!o) continue;
      o.criteria.push(...views);
      const showDose = !pack.app?.doseWhen || group.results.find((x) => x.name === pack.app?.doseWhen)?.truth === true;
      for (const line of showDose ? (pack.app?.doseLines ?? []) : []) {
        const r = group.results.find((x) => x.name === line);
        if (r?.value) o.dose.push(...r.value.map(String));
      }
    }
  }
  const viewed = ordersJudged.map((order) => {
    const o = orders.get(order) ?? { cards: [], criteria: [], conclusions: [], dose: [] };
    const view: OrderView = {
      reference: referenceOf(order),
      description: describeEvidence(referenceOf(order), order),
      ...(concerned.has(order) ? { coverage: coverageView(mergeCoverage(o.conclusions)) } : {}),
      cards: o.cards,
      criteria: o.criteria,
      dose: o.dose,
    };
    return { order, view };
  });
  const orderViews = viewed.map((v) => v.view);
  const appPack = packs.find((p) => p.app);
  const app = appPack?.app;
  const judgedViews = viewed.filter((v) => concerned.has(v.order)).map((v) => v.view);
  const pick = (names: readonly string[] | undefined): CriterionView[] => (names ?? []).flatMap((name) => byName.get(name) ?? perOrderRows(name, judgedViews.length > 0 ? judgedViews : orderViews));
  // A variant's lists replace the defaults it names; the rest stay. Orders the pack judged choose it by its
  // per-order criteria, every one of them; the patient-level ones choose it only when there is no such order.
  const judged = judgedViews.map((o) => o.criteria);
  const perOrder = (name: string): boolean => appPack?.criteria.get(name)?.perOrder === true;
  const chosen = (when: readonly string[]): boolean =>
    judged.length > 0
      ? judged.every((views) => when.some((name) => perOrder(name) && views.some((c) => c.name === name && c.status === 'met')))
      : when.some((name) => !perOrder(name) && byName.get(name)?.status === 'met');
  const variant = app?.variants?.find((v) => chosen(v.when));
  const lists = app && variant ? { ...app, ...variant } : app;
  const established = app?.establishedCriterion ? byName.get(app.establishedCriterion)?.status === 'met' : true;
  const policyCriteria = pick(established ? lists?.policyCriteria : (lists?.newStartCriteria ?? lists?.policyCriteria));
  const documentation = pick(lists?.documentation);
  const unavailable = DATA_VARIABLES.filter((v) => v !== 'patient' && request.records[v] === undefined);
  const sources = [...sourceViews.values()];
  const evaluation = {
    evaluatedAt: now.toISOString(),
    packs: packs.map((p) => ({ id: p.id, version: p.version, title: p.title })),
    unavailable,
    orders: orderViews,
    patientCards,
    criteria,
    policyCriteria,
    documentation,
    pitfalls: (lists?.pitfalls ?? []).map((p) => ({ text: p.text, sources: p.sources.flatMap((id) => sourceViews.get(`${appPack?.id ?? ''}/${id}`) ?? []) })),
    sources,
  };
  const named = (name: string | undefined): CriterionView | undefined => (name ? byName.get(name) : undefined);
  const historyUnread = (appPack?.criteria.get(app?.historyCriterion ?? '')?.reads ?? []).filter((v) => (unavailable as readonly string[]).includes(v));
  // The payer's "no action required" answers, for the orders that meet the pack's criterion for them.
  const noReview = app?.noReviewCriterion ? pick([app.noReviewCriterion]).filter((c) => c.status === 'met').flatMap((c) => c.evidence.map((e) => e.reference)) : [];
  const sections = { device: named(app?.deviceCriterion), history: named(app?.historyCriterion), authorizations: named(app?.authorizationCriterion), noReview, historyUnread };
  return { ...evaluation, summary: draftSummary(request, evaluation, established, sections) };
}

/**
 * A per-order criterion in a list of the app: one row when every order has the same status (with the evidence of
 * all); otherwise one row per order, its description naming the order, so that one order's status never stands for
 * another's.
 * @param name - the criterion.
 * @param orders - the orders to read it from (those the packs judged, or else all).
 * @returns the rows.
 */
function perOrderRows(name: string, orders: readonly OrderView[]): CriterionView[] {
  const rows = orders.flatMap((o) => o.criteria.filter((c) => c.name === name).map((c) => ({ order: o, view: c })));
  const first = rows[0];
  if (!first) return [];
  if (rows.every((r) => r.view.status === first.view.status)) {
    const evidence = new Map(rows.flatMap((r) => r.view.evidence).map((e) => [e.reference, e]));
    return [{ ...first.view, evidence: [...evidence.values()] }];
  }
  return rows.map((r) => ({ ...r.view, description: `${r.view.description} (${r.order.description})` }));
}
