/**
 * The evaluator the hook pipeline calls: context from the request, every pack evaluated, findings composed into
 * cards (less the card types the call switched off), and on order-sign the Da Vinci CRD coverage-information system
 * actions. Pure apart from ids.
 */
import { randomUUID } from 'node:crypto';
import type { Coding, Coverage, Resource } from '@medplum/fhirtypes';
import { CRD_CARD_TYPES, SERVICE_CARD_TYPE } from './card-types.js';
import { contextFromInput } from '../engine/context.js';
import { evaluatePack } from '../engine/evaluate.js';
import { appointmentOrderReferences } from '../fhir/appointment-orders.js';
import { referenceOf } from '../fhir/json.js';
import type { RulePack } from '../engine/pack-types.js';
import { SUPPLEMENTARY_VARIABLES } from '../engine/pack-types.js';
import { unevaluableOrders } from '../fhir/order-shape.js';
import type { UnevaluableOrder } from '../fhir/order-shape.js';
import { unnamedDrugs } from '../fhir/medication-references.js';
import type { UnavailableKey } from '../hooks/assemble-data.js';
import type { Evaluator } from '../hooks/handle-hook.js';
import type { Card, Link } from '../hooks/types.js';
import type { CriterionResult, Evaluation, Finding } from '../engine/evaluate.js';
import { APP_LAUNCH_PATH } from '../smart/app-paths.js';
import { fitSummary } from '../hooks/wire-json.js';
import { cardGroups, composeCard } from './compose.js';
import { coverageInformationActions } from './coverage-information.js';

/** Options of the evaluator. */
export interface EvaluatorOptions {
  readonly publicBaseUrl: string;
  readonly uuid?: () => string;
}

/** A pack's value criterion that names an order's billing code, used for the coverage-information billingCode. */
export const BILLING_CODE_CRITERION = 'orderBillingCode';

/** Cards most urgent first; equal ones keep the packs' rule order. */
const SEVERITY = { critical: 0, warning: 1, info: 2 } as const;

/**
 * Hooks whose responses carry coverage-information: the CRD primary hooks this service answers, and encounter-start
 * for the visit it starts (CRD allows it there, without asking for documentation: SECONDARY_HOOKS).
 */
const COVERAGE_HOOKS = new Set(['order-sign', 'order-dispatch', 'appointment-book', 'encounter-start']);

/**
 * CRD secondary hooks: coverage information returned on them "SHALL NOT include messages indicating a need for
 * clinical or administrative information" (doc-needed), which comes later in the process.
 */
const SECONDARY_HOOKS = new Set(['order-select', 'encounter-start', 'encounter-discharge']);

/** Hooks whose cards link to the SMART app (every hook this service answers but order-select, a preview). */
const APP_LINK_HOOKS = new Set(['order-sign', 'order-dispatch', 'appointment-book', 'patient-view', 'encounter-start', 'encounter-discharge']);

/** How the app finds a card's orders in the EHR. */
interface AppLinkOrders {
  /** The order as the call sent it (findings hold the copies judged). */
  readonly asSent: (order: Resource) => Resource;
  readonly fhirServer: string | undefined;
  /** ServiceRequests sent beside the Appointments in the call (`ServiceRequest/<id>`): the EHR may not hold them. */
  readonly sentBeside: ReadonlySet<string>;
}

/**
 * The orders a card's findings are about, as the app reads them from the EHR: an Appointment being booked (not in
 * the record yet) by the ServiceRequests it is based on that the EHR holds (read from it, or prefetched; not those
 * sent beside it, nor contained); one based on none names nothing, and the app then reviews the patient's pending or
 * active orders.
 */
function ordersForApp(findings: readonly Finding[], how: AppLinkOrders): string[] {
  return [...new Set(findings.flatMap((f) => {
    if (!f.order) return [];
    // The visit an encounter-start judges is no order: the app reviews the patient's orders.
    if (f.order.resourceType === 'Encounter') return [];
    if (f.order.resourceType !== 'Appointment') return [referenceOf(f.order)];
    return appointmentOrderReferences([how.asSent(f.order)], how.fhirServer).map((r) => r.key).filter((key) => !how.sentBeside.has(key));
  }))];
}

/** Da Vinci CRD's card extension naming the context resources a card is about (STU 2.1+, JSON name). */
export const ASSOCIATED_RESOURCE = 'davinci-crd.associated-resource';

/**
 * Names on a card the orders of the call it is about (CRD `davinci-crd.associated-resource`: local references to the
 * orders, appointments or encounters as the client sent them), so an EHR can show it beside them. A card about the
 * patient, or about orders sent without an id, names none and is left as it is.
 */
function withAssociatedResources(card: Card, findings: readonly Finding[], asSent: (order: Resource) => Resource): Card {
  const references = [...new Set(findings.flatMap((f) => (f.order ? [asSent(f.order)] : [])).filter((o) => o.id).map(referenceOf))];
  return references.length === 0 ? card : { ...card, extension: { ...card.extension, [ASSOCIATED_RESOURCE]: references.map((reference) => ({ reference })) } };
}

/**
 * Adds the link that opens the SMART app from a card (not an External Reference card): type smart, with a compact
 * appContext naming the service and the orders the card is about (EHRs that drop appContext get an app that
 * evaluates the patient's orders instead).
 */
function withAppLink(card: Card, findings: readonly Finding[], serviceId: string, hook: string, baseUrl: string, how: AppLinkOrders): Card {
  // A CRD External Reference card links to its sources only (Link.type SHALL be absolute).
  if (!APP_LINK_HOOKS.has(hook) || findings[0]?.rule.card?.externalReference) return card;
  const orders = ordersForApp(findings, how);
  const appContext = `service=${encodeURIComponent(serviceId)}${orders.length > 0 ? `&orders=${encodeURIComponent(orders.join(','))}` : ''}`;
  const link: Link = { label: 'Open the full review and the medical-necessity summary', url: `${baseUrl}${APP_LAUNCH_PATH}`, type: 'smart', appContext };
  return { ...card, links: [...(card.links ?? []), link] };
}

/** The service's own cards (not a rule pack's) name the service as their source. */
const SERVICE_SOURCE = { label: 'intrathecal-cds', topic: { system: CRD_CARD_TYPES, code: SERVICE_CARD_TYPE } } as const;

function unevaluableCard(u: UnevaluableOrder, uuid: () => string): Card {
  return {
    uuid: uuid(),
    summary: fitSummary(`${referenceOf(u.order)} could not be evaluated: ${u.reasons[0] ?? 'it is incomplete'}`),
    detail: `The order cannot be judged as sent, so no guidance is given for it:\n\n${u.reasons.map((r) => `- ${r}`).join('\n')}\n\nComplete the order and sign again.`,
    indicator: 'warning',
    source: SERVICE_SOURCE,
    ...(u.order.id ? { extension: { [ASSOCIATED_RESOURCE]: [{ reference: referenceOf(u.order) }] } } : {}),
  };
}

/** Data read only in part: resources whose drug the service could not name. */
interface PartialKey {
  readonly key: string;
  readonly lines: readonly string[];
}

function incompleteCard(unavailable: readonly UnavailableKey[], partial: readonly PartialKey[], uuid: () => string): Card {
  const names = [...unavailable.map((u) => u.key), ...partial.map((p) => `${p.key} (in part)`)];
  const detail = [
    ...(unavailable.length > 0 ? [`Criteria that need this data are "not known", so rules that depend on them did not fire:\n\n${unavailable.map((u) => `- ${u.key}: ${u.reason}`).join('\n')}`] : []),
    ...(partial.length > 0 ? [`Checks that read these records could not tell their drug, so they did not count it:\n\n${partial.flatMap((p) => p.lines.map((l) => `- ${p.key}: ${l}`)).join('\n')}`] : []),
  ];
  return {
    uuid: uuid(),
    summary: fitSummary(`Guidance is incomplete: ${names.join(', ')} could not be read`),
    detail: detail.join('\n\n'),
    indicator: 'info',
    source: SERVICE_SOURCE,
  };
}

type Results = readonly { pack: RulePack; evaluation: Evaluation }[];

/** The data variables read by the criteria this call evaluated, of those `which` picks. */
function variablesRead(results: Results, which: (r: CriterionResult) => boolean): Set<string> {
  const read = new Set<string>();
  for (const { pack, evaluation } of results) {
    for (const group of evaluation.criteria) for (const r of group.results) if (which(r)) for (const v of pack.criteria.get(r.name)?.reads ?? []) read.add(v);
  }
  return read;
}

/**
 * The keys that could not be read and left some criterion this call evaluated not known: the ones the incomplete
 * card names. A key no evaluated criterion needed (the trial data, for an established pump) changed nothing, nor
 * does supplementary data (read as empty when missing, see SUPPLEMENTARY_VARIABLES).
 */
function keysThatMattered(unavailable: readonly UnavailableKey[], results: Results): UnavailableKey[] {
  const missed = variablesRead(results, (r) => r.truth === 'unknown');
  return unavailable.filter((u) => missed.has(u.key) && !SUPPLEMENTARY_VARIABLES.has(u.key));
}

/** The records whose drug could not be named, where a criterion this call evaluated read them. */
function partsThatMattered(partial: readonly PartialKey[], results: Results): PartialKey[] {
  const read = variablesRead(results, () => true);
  return partial.filter((p) => read.has(p.key));
}

/**
 * Builds the evaluator for the hook pipeline.
 * @param packs - the compiled packs.
 * @param options - public base URL and id source.
 * @returns the evaluator.
 */
export function createEvaluator(packs: readonly RulePack[], options: EvaluatorOptions): Evaluator {
  const byId = new Map(packs.map((p) => [p.id, p]));
  const uuid = options.uuid ?? randomUUID;
  const compose = { packs: byId, publicBaseUrl: options.publicBaseUrl, uuid };
  return (input) => {
    const ctx = contextFromInput(input);
    const beside = (input.request.context.appointments?.entry ?? []).flatMap((e) => (e.resource?.resourceType === 'ServiceRequest' ? [referenceOf(e.resource)] : []));
    const appOrders: AppLinkOrders = { asSent: (order) => ctx.asSent.get(order) ?? order, fhirServer: input.request.fhirServer, sentBeside: new Set(beside) };
    const results = packs.map((pack) => ({ pack, evaluation: evaluatePack(pack, ctx, { extraOrderCriteria: [BILLING_CODE_CRITERION] }) }));
    const ruleCards = results.flatMap(({ evaluation }) =>
      cardGroups(evaluation.findings, compose).flatMap((group) => {
        const card = composeCard(group, compose);
        return card ? [withAssociatedResources(withAppLink(card, group, input.service.id, input.service.hook, options.publicBaseUrl, appOrders), group, appOrders.asSent)] : [];
      })
    );
    const concernsSomething = ruleCards.length > 0 || results.some(({ evaluation }) => evaluation.concerned.length > 0);
    const unread = new Map((input.data.unreadMedications ?? []).map((u) => [u.key, u.reason]));
    const missing = concernsSomething && input.data.unavailable.length > 0 ? keysThatMattered(input.data.unavailable, results) : [];
    const partial = concernsSomething && unread.size > 0 ? partsThatMattered(unnamedDrugs(input.data.resources, unread, input.request.fhirServer), results) : [];
    const cards = [
      ...unevaluableOrders(ctx.ordersToJudge, unread, input.request.fhirServer).map((u) => unevaluableCard(u, uuid)),
      ...ruleCards,
      ...(missing.length > 0 || partial.length > 0 ? [incompleteCard(missing, partial, uuid)] : []),
    ]
      // A card type the call switched off (CRD configuration) is not returned; coverage information still is.
      .filter((card) => input.request.configuration?.[card.source.topic?.code ?? ''] !== false)
      .sort((a, b) => SEVERITY[a.indicator] - SEVERITY[b.indicator]);
    if (!COVERAGE_HOOKS.has(input.service.hook)) return { cards };
    const coverage = (input.data.resources['coverages'] ?? []).find((c): c is Coverage => c.resourceType === 'Coverage' && c.status === 'active');
    const date = input.now.toISOString().slice(0, 10);
    const systemActions = results.flatMap(({ evaluation }) =>
      coverageInformationActions(evaluation.concerned, evaluation.findings, {
        ...(coverage ? { coverage } : {}),
        date,
        uuid,
        asSent: appOrders.asSent,
        askDocumentation: !SECONDARY_HOOKS.has(input.service.hook),
        billingCode: (order) => {
          const result = evaluation.criteria.find((c) => c.order === order)?.results.find((r) => r.name === BILLING_CODE_CRITERION);
          return result?.value?.[0] as Coding | undefined;
        },
      })
    );
    return systemActions.length > 0 ? { cards, systemActions } : { cards };
  };
}
