/**
 * Findings -> CDS Hooks cards. Fills the rule's card template, then adds what every card carries: the evidence
 * that made it fire, the sources it rests on (with how far each is confirmed), the thresholds it compared against
 * (and whether they are consensus values or deployment overrides), and the rule and pack versions.
 */
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { CRD_CARD_TYPES } from './card-types.js';
import { describeEvidence } from '../engine/describe.js';
import type { Finding } from '../engine/evaluate.js';
import { referenceOf } from '../fhir/json.js';
import type { Rule, RulePack, Source, Threshold } from '../engine/pack-types.js';
import type { Placeholder } from '../engine/placeholders.js';
import { fillPlaceholders } from '../engine/placeholders.js';
import type { Card, Link, Suggestion } from '../hooks/types.js';
import { fitSummary, tidySummary } from '../hooks/wire-json.js';
import { formatEvidence, formatResult, formatThreshold } from './render-values.js';
import { ruleLine } from './rule-line.js';

/** What composition needs besides the findings. */
export interface ComposeOptions {
  readonly packs: ReadonlyMap<string, RulePack>;
  /** PUBLIC_BASE_URL, for relative links and {{baseUrl}}. */
  readonly publicBaseUrl: string;
  /** Card uuids: random in production, fixed in tests. */
  readonly uuid?: () => string;
}

const CONFIDENCE_TEXT = { confirmed: 'confirmed in the source', secondary: 'secondary source', unconfirmed: 'unconfirmed; verify before relying on it' } as const;

/** How an order placeholder names the orders of a card (several when the rule combines them). */
function orderText(kind: 'order' | 'orderReference' | 'orderSubject', orders: readonly Resource[]): string {
  const texts = orders.map((o) =>
    kind === 'order' ? describeEvidence(referenceOf(o), o) : kind === 'orderReference' ? referenceOf(o) : ((o as { subject?: { reference?: string } }).subject?.reference ?? '')
  );
  return [...new Set(texts)].join(kind === 'order' ? '; ' : ', ');
}

function filler(finding: Finding, orders: readonly Resource[], pack: RulePack, baseUrl: string): (p: Placeholder) => string {
  return (p) => {
    switch (p.kind) {
      case 'criterion':
        return formatResult(finding.results.get(p.name));
      case 'evidence':
        return formatEvidence(p.name ? (finding.results.get(p.name)?.evidence ?? []) : finding.evidence);
      case 'threshold': {
        const t = pack.thresholds.get(p.name);
        return t ? formatThreshold(t) : '';
      }
      case 'order':
      case 'orderReference':
      case 'orderSubject':
        return orderText(p.kind, orders);
      case 'baseUrl':
        return baseUrl;
    }
  };
}

function sourceLine(s: Source): string {
  const title = s.url ? `[${s.title}](${s.url})` : s.title;
  return `- ${title}${s.date ? `, ${s.date}` : ''} (${CONFIDENCE_TEXT[s.confidence]})`;
}

function thresholdLine(t: Threshold, pack: RulePack): string {
  const source = pack.sources.get(t.source)?.title ?? t.source;
  const kind = t.overridden ? 'set by this deployment' : t.confidence === 'confirmed' ? `from ${source}` : `a consensus value (${source}; ${CONFIDENCE_TEXT[t.confidence]}), configurable`;
  return `- ${t.description}: ${formatThreshold(t)}, ${kind}`;
}

/**
 * The thresholds a finding's card lists: those the card names or the rule's `when` reads itself, and those a
 * criterion of the rule compared against and decided (true or false). A criterion that compared nothing, such as
 * the maximum of a drug the order does not hold, is not known, and its thresholds are left out.
 */
function listedThresholds(findings: readonly Finding[], rule: Rule, pack: RulePack): string[] {
  const read = new Set<string>();
  const decided = new Set<string>();
  for (const r of findings.flatMap((f) => [...f.results.values()])) {
    const c = pack.criteria.get(r.name);
    if (c?.kind !== 'boolean') continue;
    for (const id of c.thresholds) {
      read.add(id);
      if (r.truth !== 'unknown') decided.add(id);
    }
  }
  return rule.thresholds.filter((id) => rule.namedThresholds.includes(id) || !read.has(id) || decided.has(id));
}

/**
 * The part of a rule's footer that does not depend on the record, written once per pack, rule and set of thresholds
 * (per pack too: a rule case's copy of the pack, with deployment thresholds, shares the rules and not their values).
 */
const ruleFooters = new WeakMap<RulePack, WeakMap<Rule, Map<string, string>>>();

function ruleFooter(findings: readonly Finding[], rule: Rule, pack: RulePack): string {
  const ids = listedThresholds(findings, rule, pack);
  const key = ids.join(' ');
  let byRule = ruleFooters.get(pack);
  if (!byRule) ruleFooters.set(pack, (byRule = new WeakMap<Rule, Map<string, string>>()));
  let byThresholds = byRule.get(rule);
  if (!byThresholds) byRule.set(rule, (byThresholds = new Map<string, string>()));
  let text = byThresholds.get(key);
  if (text === undefined) {
    const lines: string[] = [];
    const thresholds = ids.flatMap((id) => pack.thresholds.get(id) ?? []);
    if (thresholds.length > 0) lines.push('**Thresholds**', ...thresholds.map((t) => thresholdLine(t, pack)), '');
    lines.push('**Sources**', ...(rule.card?.sources ?? []).flatMap((id) => pack.sources.get(id) ?? []).map(sourceLine), '');
    lines.push(ruleLine({ rule: rule.id, version: rule.version, pack: pack.id, packVersion: pack.version }));
    byThresholds.set(key, (text = lines.join('\n')));
  }
  return text;
}

function footer(findings: readonly Finding[], rule: Rule, pack: RulePack): string {
  const items = [...new Map(findings.flatMap((f) => f.evidence).map((e) => [e.reference, e])).values()];
  if (items.length === 0) return ruleFooter(findings, rule, pack);
  const evidence = ['**Evidence in the record**', ...items.map((e) => `- ${describeEvidence(e.reference, e.resource)}`), ''].join('\n');
  return `${evidence}\n${ruleFooter(findings, rule, pack)}`;
}

/** Fills placeholders in every string of a suggested resource. */
function fillDeep(value: unknown, text: (t: string) => string): unknown {
  if (typeof value === 'string') return text(value);
  if (Array.isArray(value)) return value.map((v) => fillDeep(v, text));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillDeep(v, text)]));
  return value;
}

function absolute(url: string, baseUrl: string): string {
  return url.startsWith('/') ? `${baseUrl}${url}` : url;
}

function ordersOf(findings: readonly Finding[]): Resource[] {
  return findings.flatMap((f) => (f.order ? [f.order] : []));
}

/**
 * Groups findings into cards. A rule whose card has `combineOrders` gives one card for all the orders on which its
 * text (order placeholders aside) comes out the same; every other finding is a card of its own. Groups keep the
 * order of their first finding.
 * @param findings - the findings of one evaluation.
 * @param options - packs and base URL (to fill the text compared).
 * @returns the groups, each non-empty.
 */
export function cardGroups(findings: readonly Finding[], options: ComposeOptions): Finding[][] {
  const groups: Finding[][] = [];
  const byText = new Map<string, Finding[]>();
  for (const f of findings) {
    const template = f.rule.card;
    const pack = options.packs.get(f.packId);
    if (!template?.combineOrders || !pack || !f.order) {
      groups.push([f]);
      continue;
    }
    const fill = filler(f, [], pack, options.publicBaseUrl);
    const key = [f.packId, f.rule.id, fillPlaceholders(template.summary, fill), fillPlaceholders(template.detail ?? '', fill)].join('\u0000');
    const group = byText.get(key);
    if (group) group.push(f);
    else {
      const created = [f];
      byText.set(key, created);
      groups.push(created);
    }
  }
  return groups;
}

/**
 * A finding's card summary as its rule's template fills it, spaces tidied, before it is fitted to the wire's limit:
 * the rule-case runner checks that it fits whole.
 * @param finding - a rule that fired.
 * @param options - packs and base URL.
 * @returns the summary, or undefined when the rule yields no card.
 */
export function summaryBeforeFit(finding: Finding, options: ComposeOptions): string | undefined {
  const template = finding.rule.card;
  const pack = options.packs.get(finding.packId);
  if (!template || !pack) return undefined;
  return tidySummary(fillPlaceholders(template.summary, filler(finding, ordersOf([finding]), pack, options.publicBaseUrl)));
}

/**
 * The card of one finding, or of findings one rule combines (see {@link cardGroups}): the first one's values fill
 * the text, order placeholders name every order, and the evidence and thresholds are those of all.
 * @param finding - a rule that fired, or the findings of one group.
 * @param options - packs, base URL, uuid source.
 * @returns the card, or undefined when the rule yields no card.
 */
export function composeCard(finding: Finding | readonly Finding[], options: ComposeOptions): Card | undefined {
  const findings: readonly Finding[] = Array.isArray(finding) ? finding : [finding as Finding];
  const first = findings[0];
  const template = first?.rule.card;
  const pack = first && options.packs.get(first.packId);
  if (!first || !template || !pack) return undefined;
  const uuid = options.uuid ?? randomUUID;
  const fill = filler(first, ordersOf(findings), pack, options.publicBaseUrl);
  const text = (t: string): string => fillPlaceholders(t, fill);
  const source = pack.sources.get(template.sources[0] ?? '');
  const detail = [template.detail ? text(template.detail).trim() : '', footer(findings, first.rule, pack)].filter(Boolean).join('\n\n');
  const links: Link[] = (template.links ?? []).map((l) =>
    l.type === 'smart'
      ? { label: text(l.label), url: absolute(text(l.url), options.publicBaseUrl), type: 'smart', ...(l.appContext ? { appContext: text(l.appContext) } : {}) }
      : { label: text(l.label), url: absolute(text(l.url), options.publicBaseUrl), type: 'absolute' }
  );
  // Every card links its first source; an External Reference card links each source it summarizes.
  const linked = template.externalReference ? template.sources.map((id) => pack.sources.get(id)) : [source];
  for (const s of linked) {
    if (s?.url && !links.some((l) => l.url === s.url)) links.push({ label: s.title, url: s.url, type: 'absolute' });
  }
  const suggestions: Suggestion[] = (template.suggestions ?? []).map((s) => ({
    label: text(s.label),
    uuid: uuid(),
    ...(s.isRecommended !== undefined ? { isRecommended: s.isRecommended } : {}),
    ...(s.actions
      ? {
          actions: s.actions.map((a) => ({
            type: a.type,
            description: text(a.description),
            ...(a.resource ? { resource: fillDeep(a.resource, text) as Resource } : {}),
            ...(a.resourceId ? { resourceId: text(a.resourceId) } : {}),
          })),
        }
      : {}),
  }));
  return {
    uuid: uuid(),
    summary: fitSummary(text(template.summary)),
    detail,
    indicator: template.indicator,
    source: {
      label: source?.title ?? pack.title,
      ...(source?.url ? { url: source.url } : {}),
      topic: { system: CRD_CARD_TYPES, code: template.topic },
    },
    ...(suggestions.length > 0 ? { suggestions, selectionBehavior: template.selectionBehavior ?? 'any' } : {}),
    ...(template.overrideReasons ? { overrideReasons: template.overrideReasons.map((r) => ({ ...r })) } : {}),
    ...(links.length > 0 ? { links } : {}),
  };
}
