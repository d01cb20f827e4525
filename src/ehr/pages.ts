/**
 * The embedded EHR's small HTML pages: the launcher (pick a patient, launch the app as an EHR would, sign the
 * patient's pending orders or book a refill visit), the authorization page (patient picker for a standalone launch,
 * scopes, allow or deny), and the page a refusal is shown on.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';

/** Escapes text for HTML. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const STYLE = `
  body { font: 16px/1.45 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f4f6f8; }
  header { background: #24415c; color: #fff; padding: .8rem 1.2rem; }
  main { max-width: 44rem; margin: 1.5rem auto; background: #fff; padding: 1.2rem 1.5rem; border-radius: 6px; box-shadow: 0 1px 3px #0002; }
  h1 { font-size: 1.25rem; margin: 0; } h2 { font-size: 1.1rem; }
  ul { padding-left: 1.2rem; } li { margin: .4rem 0; }
  button, select { font: inherit; padding: .45rem .9rem; margin-right: .5rem; }
  select { max-width: 100%; }
  button.primary { background: #24415c; color: #fff; border: 0; border-radius: 4px; }
  label { display: block; margin: .3rem 0; }
  .muted { color: #5a6570; font-size: .9rem; }
  .about { font-size: .9rem; }`;

/**
 * A page of the embedded EHR.
 * @param title - its title.
 * @param body - its HTML, escaped by the caller.
 * @returns the whole HTML.
 */
export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title><style>${STYLE}</style></head><body><header><h1>Embedded EHR (development)</h1></header><main>${body}</main></body></html>`;
}

/** A fixture patient for the pages. */
export interface PatientChoice {
  readonly id: string;
  readonly label: string;
  /** What the fixture patient is there to show (its narrative), for the launcher. */
  readonly about?: string;
}

/** A pending order as the launcher offers it for selection. */
export interface OrderChoice {
  /** `Type/id`. */
  readonly reference: string;
  readonly label: string;
}

/** What the launcher offers when it calls the service's hooks. */
export interface LauncherHooks {
  /** Each patient's pending orders. */
  readonly pending: ReadonlyMap<string, readonly OrderChoice[]>;
  /** Whether the calls send prefetch (the launcher's `?prefetch=1`), as the CDS Hooks sandbox does. */
  readonly prefetch: boolean;
}

/**
 * The launcher page.
 * @param patients - the fixture patients.
 * @param standaloneUrl - the app's standalone launch URL.
 * @param hooks - what it offers to call the hooks with, when it does (a service that serves calls without a JWT).
 * @returns HTML.
 */
export function launcherPage(patients: readonly PatientChoice[], standaloneUrl: string, hooks: LauncherHooks | undefined): string {
  const signing = hooks !== undefined;
  const pending = hooks?.pending;
  const prefetchField = hooks?.prefetch ? '<input type="hidden" name="prefetch" value="1">' : '';
  const hook = (p: PatientChoice, action: string, label: string, fields = ''): string => `<form method="post" action="/ehr/${action}" style="display:inline"><input type="hidden" name="patient" value="${esc(p.id)}">${prefetchField}
${fields}<button type="submit">${label}</button></form>`;
  const ordered = (p: PatientChoice): string => {
    const orders = pending?.get(p.id) ?? [];
    if (orders.length === 0) return '';
    const choice = `<label>Pending order <select name="order">${orders.map((o) => `<option value="${esc(o.reference)}">${esc(o.label)}</option>`).join('')}</select></label> `;
    return `<br>${hook(p, 'select', 'Select this order (order-select)', choice)}<br>${hook(p, 'dispatch', 'Send the pending orders to the pharmacy (order-dispatch)')}`;
  };
  const sign = (p: PatientChoice): string => (signing ? `<br>${hook(p, 'sign', 'Sign the pending orders (order-sign)')}${hook(p, 'book', 'Book a refill visit (appointment-book)')}${hook(p, 'start-visit', 'Start a refill visit (encounter-start)')}${ordered(p)}` : '');
  const rows = patients
    .map(
      (p) => `<li><strong>${esc(p.label)}</strong> <span class="muted">Patient/${esc(p.id)}</span><br>${p.about ? `<span class="about">${esc(p.about)}</span><br>` : ''}
<form method="post" action="/ehr/launch" style="display:inline"><input type="hidden" name="patient" value="${esc(p.id)}">
<button class="primary" type="submit">Launch the intrathecal review app</button></form>${sign(p)}</li>`
    )
    .join('');
  return page(
    'EHR launcher',
    `<h2>Launch the SMART app as the EHR would</h2><p>Signed in as the fixture clinician (Practitioner/it-prac-1).${signing ? ' Selecting, signing or sending a patient\'s pending orders, or booking or starting a refill visit, calls the service\'s hook and shows its cards.' : ''}</p>${hooks ? prefetchChoice(hooks.prefetch) : ''}<ul>${rows}</ul>
<p class="muted">Or try a <a href="${esc(standaloneUrl)}">standalone launch</a>: the authorization server asks for the patient.</p>`
  );
}

/** The launcher's choice between calls with and without prefetch. */
function prefetchChoice(prefetch: boolean): string {
  return prefetch
    ? '<p class="muted">Hook calls send prefetch, filled from this EHR\'s FHIR server by the templates the service declares, as the CDS Hooks sandbox does. <a href="/ehr/launcher">Call without prefetch</a> (the service reads the record).</p>'
    : '<p class="muted">Hook calls send no prefetch: the service reads the record from this EHR\'s FHIR server. <a href="/ehr/launcher?prefetch=1">Call with prefetch</a>, as the CDS Hooks sandbox does.</p>';
}

/** What the authorization page shows. */
export interface AuthorizeView {
  readonly uid: string;
  readonly clientName: string;
  readonly scopes: readonly string[];
  /** The patient of an EHR launch; undefined for a standalone launch (the picker is shown). */
  readonly patient?: PatientChoice;
  readonly patients: readonly PatientChoice[];
}

/**
 * The authorization (consent) page.
 * @param view - what to show.
 * @returns HTML.
 */
export function authorizePage(view: AuthorizeView): string {
  const patient = view.patient
    ? `<p>Patient: <strong>${esc(view.patient.label)}</strong></p><input type="hidden" name="patient" value="${esc(view.patient.id)}">`
    : `<label>Patient <select name="patient" required>${view.patients.map((p) => `<option value="${esc(p.id)}">${esc(p.label)}</option>`).join('')}</select></label>`;
  const scopes = view.scopes.map((s) => `<label><input type="checkbox" name="scope" value="${esc(s)}" checked> <code>${esc(s)}</code></label>`).join('');
  return page(
    'Authorize',
    `<h2>${esc(view.clientName)} asks for access</h2><form method="post" action="/ehr/authorize/${esc(view.uid)}">${patient}
<fieldset><legend>Access</legend>${scopes}</fieldset>
<p><button class="primary" type="submit" name="decision" value="allow">Allow</button><button type="submit" name="decision" value="deny">Deny</button></p></form>`
  );
}

/**
 * What a person sees when the EHR refuses what a page asked (a suggestion no longer on offer, an order that is not
 * pending): each problem with where it is, the refusal as the OperationOutcome an API caller gets, and a way back.
 * @param status - the HTTP status.
 * @param outcome - the OperationOutcome.
 * @returns the whole HTML.
 */
export function refusalPage(status: number, outcome: OperationOutcome): string {
  const problems = (outcome.issue ?? []).map((i) => {
    const where = i.expression?.length ? ` <span class="muted">(${esc(i.expression.join(', '))})</span>` : '';
    return `<li>${esc(i.details?.text ?? i.diagnostics ?? i.code)}${where}</li>`;
  });
  return page(
    'Not done',
    `<h2>Not done</h2><p>The EHR did not do this (HTTP ${String(status)}):</p><ul>${problems.join('')}</ul>` +
      `<details><summary>As an OperationOutcome</summary><pre>${esc(JSON.stringify(outcome, null, 2))}</pre></details>` +
      `<p><a href="/ehr/launcher">Back to the launcher</a></p>`
  );
}
