/**
 * The embedded EHR's page for a hook's answer (order-sign, appointment-book), drawn as an EHR draws cards: indicator,
 * summary, detail (CDS Hooks: GitHub Flavored Markdown, rendered), source, suggestions, and links (an absolute one
 * opens, a SMART one launches the app through the EHR with the card's appContext); then the coverage information
 * each order got. Everything comes from the service's answer: text is escaped, and the detail's Markdown is rendered
 * without the HTML it may hold (shown as text) and without links other than http(s) and mailto.
 */
import MarkdownIt from 'markdown-it';
import { readCoverage } from '../cards/read-coverage.js';
import type { ActionView } from '../cards/read-coverage.js';
import { esc, page } from './pages.js';
import type { PatientChoice } from './pages.js';
import type { ServiceAnswer } from './hook-calls.js';

// `html: false`: markup in the detail is shown as text. Links are kept only to web and mail addresses (markdown-it
// already refuses javascript:, vbscript:, file: and most data: ones), and open in a new tab, away from the chart.
const markdown = new MarkdownIt({ html: false, linkify: false });
const SAFE_LINK = /^(https?:|mailto:)/i;
markdown.validateLink = (url: string): boolean => SAFE_LINK.test(url.trim());
markdown.renderer.rules['link_open'] = (tokens, idx, options, _env, self) => {
  tokens[idx]?.attrSet('target', '_blank');
  tokens[idx]?.attrSet('rel', 'noopener noreferrer');
  return self.renderToken(tokens, idx, options);
};

interface CardView {
  uuid?: string;
  indicator?: string;
  summary?: string;
  detail?: string;
  source?: { label?: string; url?: string };
  suggestions?: { label?: string; uuid?: string; isRecommended?: boolean }[];
  links?: { label?: string; url?: string; type?: string; appContext?: string }[];
  overrideReasons?: { system?: string; code?: string; display?: string }[];
  extension?: Record<string, unknown>;
}

/** The orders a card names as CRD associated resources, as an EHR shows a card beside them. */
function aboutOrders(card: CardView): string {
  const named = card.extension?.['davinci-crd.associated-resource'];
  const references = (Array.isArray(named) ? named : []).flatMap((r: unknown) => {
    const reference = (r as { reference?: unknown } | null)?.reference;
    return typeof reference === 'string' ? [reference] : [];
  });
  return references.length > 0 ? `<p class="muted">About ${references.map(esc).join(', ')}</p>` : '';
}

function linkHtml(link: NonNullable<CardView['links']>[number], patient: string): string {
  if (link.type === 'smart') {
    return `<form method="post" action="/ehr/launch-link"><input type="hidden" name="patient" value="${esc(patient)}"><input type="hidden" name="url" value="${esc(link.url ?? '')}">
<input type="hidden" name="appContext" value="${esc(link.appContext ?? '')}"><button type="submit">${esc(link.label ?? 'Open the app')}</button></form>`;
  }
  return `<a href="${esc(link.url ?? '')}" rel="noopener noreferrer" target="_blank">${esc(link.label ?? link.url ?? '')}</a>`;
}

/** What the page is about: the patient, the service called, and what was sent to it. */
export interface CallView {
  readonly patient: PatientChoice;
  readonly service: string;
  /** "Orders signed", "Refill visit booked". */
  readonly title: string;
  /** What was sent: the orders' or the visit's references and descriptions. */
  readonly sent: readonly string[];
  /** What the page says when the answer holds no coverage information; by default, that nothing concerns the pump. */
  readonly noCoverage?: string;
  /** The prefetch keys sent with the call; undefined when it was called without prefetch. */
  readonly prefetched?: readonly string[] | undefined;
}

/** How the call was made: with the record sent (prefetch), or for the service to read. */
function howCalled(view: CallView): string {
  if (!view.prefetched) return 'Called without prefetch: the service read the record from the EHR\'s FHIR server.';
  return `Called with prefetch: ${view.prefetched.length === 0 ? 'none of its templates could be filled' : view.prefetched.join(', ')}.`;
}

/** Back to the launcher, keeping its prefetch choice. */
function backLink(view: CallView): string {
  return `<p><a href="/ehr/launcher${view.prefetched ? '?prefetch=1' : ''}">Back to the launcher</a></p>`;
}

/** Override a card: a reason the card offers, or none, and a comment (one of them is needed). */
function overrideForm(card: CardView, view: CallView): string {
  if (!card.uuid) return '';
  const reasons = (card.overrideReasons ?? []).map((r) => `<option value="${esc(JSON.stringify(r))}">${esc(r.display ?? r.code ?? '')}</option>`).join('');
  return `<form method="post" action="/ehr/feedback" class="override"><input type="hidden" name="patient" value="${esc(view.patient.id)}"><input type="hidden" name="service" value="${esc(view.service)}"><input type="hidden" name="card" value="${esc(card.uuid)}">
${reasons ? `<label>Reason <select name="reason"><option value="">(none of these)</option>${reasons}</select></label>` : ''}
<label>Comment <input name="comment" size="40"></label> <button type="submit">Override</button></form>`;
}

/** A suggestion, with a button that accepts it (the EHR applies its actions, then tells the service). */
function suggestionHtml(suggestion: NonNullable<CardView['suggestions']>[number], view: CallView): string {
  const label = `Suggestion${suggestion.isRecommended ? ' (recommended)' : ''}: ${esc(suggestion.label ?? '')}`;
  if (!suggestion.uuid) return `<p class="muted">${label}</p>`;
  return `<form method="post" action="/ehr/accept" class="suggestion"><input type="hidden" name="patient" value="${esc(view.patient.id)}"><input type="hidden" name="suggestion" value="${esc(suggestion.uuid)}">
<span>${label}</span> <button type="submit">Accept</button></form>`;
}

function cardHtml(card: CardView, view: CallView): string {
  const source = card.source?.url ? `<a href="${esc(card.source.url)}" rel="noopener noreferrer" target="_blank">${esc(card.source.label ?? '')}</a>` : esc(card.source?.label ?? '');
  return `<article class="card ${esc(card.indicator ?? 'info')}"><p><span class="badge">${esc(card.indicator ?? 'info')}</span> <strong>${esc(card.summary ?? '')}</strong></p>${aboutOrders(card)}
${card.detail ? `<div class="detail">${markdown.render(card.detail)}</div>` : ''}
${(card.suggestions ?? []).map((s) => suggestionHtml(s, view)).join('')}
<div class="links">${(card.links ?? []).map((l) => linkHtml(l, view.patient.id)).join(' ')}</div>
<p class="muted">Source: ${source}</p>${overrideForm(card, view)}</article>`;
}

const STYLE = `<style>
  main { max-width: 60rem; }
  .card { border-left: 5px solid #3b6ea5; padding: .3rem .9rem; margin: .9rem 0; background: #f8fafc; }
  .card.warning { border-color: #c77700; } .card.critical { border-color: #b3261e; }
  .badge { text-transform: uppercase; font-size: .75rem; letter-spacing: .04em; color: #5a6570; }
  .detail { font-size: .92rem; } .detail p, .detail ul { margin: .4rem 0; }
  .links form { display: inline; }
  form.override label { display: inline; margin-right: .5rem; }
  form.suggestion { margin: .4rem 0; }
</style>`;

/** A refusal by the service, as the paragraph the pages show: its status and what its OperationOutcome says. */
function serviceRefusal(answer: ServiceAnswer): string {
  const issues = ((answer.body ?? {}) as { issue?: { details?: { text?: string }; diagnostics?: string }[] }).issue ?? [];
  const why = issues.map((i) => i.details?.text ?? i.diagnostics ?? '').filter(Boolean);
  return `<p class="alert">The service answered HTTP ${String(answer.status)}${why.length > 0 ? `: ${why.map(esc).join('; ')}` : ''}</p>`;
}

/**
 * The page showing what the service answered.
 * @param view - the patient, the service, what was sent.
 * @param answer - the service's answer.
 * @returns HTML.
 */
export function cardsPage(view: CallView, answer: ServiceAnswer): string {
  const body = (answer.body ?? {}) as { cards?: CardView[]; systemActions?: ActionView[] };
  const head = `<h2>${esc(view.title)} for ${esc(view.patient.label)}</h2><p class="muted">${view.sent.length === 0 ? 'Nothing pending' : view.sent.map(esc).join(', ')}: the answer of ${esc(view.service)}, as an EHR shows it. ${esc(howCalled(view))}</p>`;
  if (answer.status !== 200) return page(view.title, `${head}${serviceRefusal(answer)}${backLink(view)}`);
  const coverage = readCoverage(body.systemActions ?? []).map((c) => `${c.reference}: ${c.text}`);
  const cards = body.cards ?? [];
  return page(view.title, `${STYLE}${head}
<h3>Coverage information</h3>${coverage.length > 0 ? `<ul>${coverage.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>` : `<p class="muted">${esc(view.noCoverage ?? 'None: nothing sent concerns the pump.')}</p>`}
<h3>Cards (${String(cards.length)})</h3>${cards.map((c) => cardHtml(c, view)).join('') || '<p class="muted">No cards.</p>'}
${backLink(view)}`);
}

/**
 * The page after a card was overridden: what the service said of the feedback.
 * @param card - the card's uuid.
 * @param answer - the feedback endpoint's answer.
 * @returns HTML.
 */
export function overridePage(card: string, answer: ServiceAnswer): string {
  const stored = ((answer.body ?? {}) as { stored?: number }).stored ?? 0;
  const said = answer.status === 200 ? `<p>The service stored the override of card <code>${esc(card)}</code> (${String(stored)} feedback item).</p>` : serviceRefusal(answer);
  return page('Card overridden', `<h2>Override sent</h2>${said}<p><a href="/ehr/launcher">Back to the launcher</a></p>`);
}

/**
 * The page after a suggestion was accepted: what the EHR changed in its record, and what the service said of the
 * feedback.
 * @param label - the suggestion's label.
 * @param done - what the EHR did, one line per action.
 * @param answer - the feedback endpoint's answer.
 * @returns HTML.
 */
export function acceptPage(label: string, done: readonly string[], answer: ServiceAnswer): string {
  const said = answer.status === 200 ? '<p>The service stored the acceptance.</p>' : serviceRefusal(answer);
  const changes = done.length > 0 ? `<ul>${done.map((d) => `<li>${esc(d)}</li>`).join('')}</ul>` : '<p class="muted">Nothing to change in the record.</p>';
  return page('Suggestion accepted', `<h2>Suggestion accepted</h2><p>${esc(label)}</p><h3>The EHR changed its record</h3>${changes}${said}<p><a href="/ehr/launcher">Back to the launcher</a>: the pending orders show the change.</p>`);
}
