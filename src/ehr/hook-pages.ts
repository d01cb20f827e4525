/**
 * The embedded EHR's pages that call the service's hooks, mounted under /ehr when the service serves calls without a
 * JWT (development): select one of a patient's pending orders (order-select), sign them (order-sign), send them to the
 * pharmacy (order-dispatch), book a refill visit (appointment-book) or start one (encounter-start), override a card
 * or accept one of its suggestions (feedback), and launch the app from a card's SMART link. Each answer is shown as
 * an EHR shows it (cards-page.ts).
 */
import type { Encounter, Resource } from '@medplum/fhirtypes';
import type { Request, Router } from 'express';
import { describeEvidence } from '../engine/describe.js';
import { referenceOf } from '../fhir/json.js';
import { badRequest } from '../http/outcomes.js';
import { APP_LAUNCH_PATH } from '../smart/app-paths.js';
import { acceptPage, cardsPage, overridePage } from './cards-page.js';
import type { CallView } from './cards-page.js';
import { APPOINTMENT_BOOK_SERVICE, bookVisit, dispatchOrders, EHR_SERVICES, ENCOUNTER_START_SERVICE, ORDER_DISPATCH_SERVICE, ORDER_SELECT_SERVICE, ORDER_SIGN_SERVICE, PHARMACY, refillEncounter, refillVisit, selectOrder, sendAcceptance, sendOverride, signOrders, startVisit } from './hook-calls.js';
import type { HookCaller, ServiceAnswer } from './hook-calls.js';
import type { PatientChoice } from './pages.js';
import { ShownSuggestions } from './suggestions.js';
import type { ShownSuggestion } from './suggestions.js';

/** What the pages need from the embedded EHR. */
export interface HookPagesDeps {
  /** Where the service answers (PUBLIC_BASE_URL). */
  readonly base: string;
  /** The signed-in user, `Practitioner/<id>`. */
  readonly user: string;
  /** The fixture patient a form names (404 otherwise). */
  patientOf(form: unknown): Promise<PatientChoice>;
  draftOrders(patient: string): Promise<Resource[]>;
  /** The app's launch URL for a new launch context. */
  launchApp(patient: string, appContext: string | undefined): string;
  /** Stores an Encounter on the EHR's FHIR server (a visit starting), which gives it its id. */
  storeEncounter(encounter: Encounter): Promise<Encounter>;
  /** Fills a service's prefetch from the EHR's FHIR server (prefetch.ts), for calls the launcher asks to prefetch. */
  prefetch: NonNullable<HookCaller['prefetch']>;
  /** Applies an accepted suggestion's actions to the EHR's record (suggestions.ts); says what it did. */
  applySuggestion(suggestion: ShownSuggestion): Promise<string[]>;
}

/** A reason code the override form sent back (the card's own, written into the page as JSON), or 400. */
function overrideReasonOf(text: string): { system?: string; code: string; display?: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const r = value as { system?: unknown; code?: unknown; display?: unknown } | undefined;
  if (typeof r !== 'object' || r === null || typeof r.code !== 'string' || (r.system !== undefined && typeof r.system !== 'string') || (r.display !== undefined && typeof r.display !== 'string')) {
    throw badRequest([{ code: 'value', expression: 'reason', message: 'reason must be one of the codes the card offered' }]);
  }
  return { code: r.code, ...(typeof r.system === 'string' ? { system: r.system } : {}), ...(typeof r.display === 'string' ? { display: r.display } : {}) };
}

const text = (form: unknown, name: string): string => {
  const value = (form as Record<string, unknown>)[name];
  return typeof value === 'string' ? value.trim() : '';
};

/**
 * Adds the pages to the EHR's router.
 * @param pages - the router mounted at /ehr.
 * @param deps - base URL, user, patients, orders, launches.
 */
export function addHookPages(pages: Router, deps: HookPagesDeps): void {
  // A call the service could not be reached for is shown on the page, as the service's refusals are.
  const unreachable = (err: unknown): ServiceAnswer => ({ status: 502, body: { issue: [{ details: { text: `the service could not be reached at ${deps.base}: ${(err as Error).message}` } }] } });
  // Who calls for a page: with prefetch when the launcher's form asks for it (`prefetch=1`); the keys sent are noted
  // for the page, which says whether the service had the record sent or read it.
  const callerOf = (req: Request, patient: PatientChoice): { caller: HookCaller; prefetched: () => readonly string[] | undefined } => {
    const keys: string[] = [];
    const wanted = text(req.body, 'prefetch') === '1';
    const prefetch: HookCaller['prefetch'] = async (service, hook, context) => {
      const filled = await deps.prefetch(service, hook, context);
      keys.push(...Object.keys(filled));
      return filled;
    };
    return { caller: { publicBaseUrl: deps.base, user: deps.user, patient: patient.id, ...(wanted ? { prefetch } : {}) }, prefetched: () => (wanted ? keys : undefined) };
  };
  // The suggestions each page shows, so that accepting one applies what the service sent.
  const shown = new ShownSuggestions();
  const showAnswer = (view: CallView, answer: ServiceAnswer): string => {
    if (answer.status === 200) shown.remember(view.service, view.patient.id, answer.body);
    return cardsPage(view, answer);
  };
  pages.post('/sign', async (req, res) => {
    const patient = await deps.patientOf(req.body);
    const orders = await deps.draftOrders(patient.id);
    const { caller, prefetched } = callerOf(req, patient);
    const answer = await signOrders(orders, caller).catch(unreachable);
    res.type('html').send(showAnswer({ patient, service: ORDER_SIGN_SERVICE, title: 'Orders signed', sent: orders.map(referenceOf), prefetched: prefetched() }, answer));
  });
  // The clinician selects one pending order: the others are sent beside it, as draftOrders.
  pages.post('/select', async (req, res) => {
    const patient = await deps.patientOf(req.body);
    const orders = await deps.draftOrders(patient.id);
    const chosen = text(req.body, 'order');
    const selected = orders.find((o) => referenceOf(o) === chosen);
    if (!selected) throw badRequest([{ code: 'value', expression: 'order', message: `order must be one of the patient's pending orders: ${orders.map(referenceOf).join(', ') || 'none'}` }]);
    const { caller, prefetched } = callerOf(req, patient);
    const answer = await selectOrder(orders, chosen, caller).catch(unreachable);
    const noCoverage = 'None at selection: the order gets early guidance now, and its coverage information when it is signed.';
    res.type('html').send(showAnswer({ patient, service: ORDER_SELECT_SERVICE, title: 'Order selected', sent: [describeEvidence(chosen, selected)], noCoverage, prefetched: prefetched() }, answer));
  });
  // The pending orders, sent to the home-infusion pharmacy (this EHR does not store a signature: it sends the drafts).
  pages.post('/dispatch', async (req, res) => {
    const patient = await deps.patientOf(req.body);
    const orders = (await deps.draftOrders(patient.id)).map(referenceOf);
    if (orders.length === 0) throw badRequest([{ code: 'required', expression: 'patient', message: 'the patient has no pending order to send' }]);
    const { caller, prefetched } = callerOf(req, patient);
    const answer = await dispatchOrders(orders, caller).catch(unreachable);
    res.type('html').send(showAnswer({ patient, service: ORDER_DISPATCH_SERVICE, title: `Orders sent to ${PHARMACY}`, sent: orders, prefetched: prefetched() }, answer));
  });
  pages.post('/book', async (req, res) => {
    const patient = await deps.patientOf(req.body);
    const { caller, prefetched } = callerOf(req, patient);
    const visit = refillVisit(caller, new Date());
    const answer = await bookVisit(visit, caller).catch(unreachable);
    const sent = `Appointment/${visit.id ?? ''} (95990 pump refill and maintenance, proposed, ${visit.start?.slice(0, 10) ?? ''})`;
    res.type('html').send(showAnswer({ patient, service: APPOINTMENT_BOOK_SERVICE, title: 'Refill visit booked', sent: [sent], prefetched: prefetched() }, answer));
  });
  // The front desk checks the patient in for a refill visit: the Encounter is stored, then encounter-start names it.
  pages.post('/start-visit', async (req, res) => {
    const patient = await deps.patientOf(req.body);
    const { caller, prefetched } = callerOf(req, patient);
    const stored = await deps.storeEncounter(refillEncounter(caller, new Date()));
    const answer = await startVisit(stored.id ?? '', caller).catch(unreachable);
    const sent = describeEvidence(`Encounter/${stored.id ?? ''}`, stored);
    res.type('html').send(showAnswer({ patient, service: ENCOUNTER_START_SERVICE, title: 'Refill visit started', sent: [sent], noCoverage: 'None: the visit is not a pump refill visit, or the service could not read it.', prefetched: prefetched() }, answer));
  });
  // A clinician overrides a card: its service and uuid, a reason the card offered (as the page wrote it), a comment.
  pages.post('/feedback', async (req, res) => {
    await deps.patientOf(req.body);
    const service = text(req.body, 'service');
    const card = text(req.body, 'card');
    const comment = text(req.body, 'comment');
    const reasonText = text(req.body, 'reason');
    const reason = reasonText === '' ? undefined : overrideReasonOf(reasonText);
    if (!EHR_SERVICES.has(service)) throw badRequest([{ code: 'value', expression: 'service', message: `service must be one of ${[...EHR_SERVICES].join(', ')}` }]);
    if (card === '' || (!reason && comment === '')) throw badRequest([{ code: 'required', expression: 'reason', message: 'an override needs a reason or a comment' }]);
    const answer = await sendOverride({ service, card, ...(reason ? { reason } : {}), ...(comment ? { comment } : {}) }, deps.base, new Date()).catch(unreachable);
    res.type('html').send(overridePage(card, answer));
  });
  // A clinician accepts a suggestion: the EHR applies its actions to its record, then tells the service.
  pages.post('/accept', async (req, res) => {
    const patient = await deps.patientOf(req.body);
    const suggestion = shown.take(text(req.body, 'suggestion'), patient.id);
    const done = await deps.applySuggestion(suggestion).catch((err: unknown) => {
      shown.giveBack(suggestion);
      throw err;
    });
    const answer = await sendAcceptance(suggestion, deps.base, new Date()).catch(unreachable);
    res.type('html').send(acceptPage(suggestion.label, done, answer));
  });
  // A card's SMART link, launched as an EHR launches it: a launch context holding the card's appContext.
  pages.post('/launch-link', async (req, res) => {
    const patient = (await deps.patientOf(req.body)).id;
    if (text(req.body, 'url') !== `${deps.base}${APP_LAUNCH_PATH}`) throw badRequest([{ code: 'value', expression: 'url', message: `this EHR launches only the app it registered, at ${deps.base}${APP_LAUNCH_PATH}` }]);
    const appContext = text(req.body, 'appContext');
    res.redirect(303, deps.launchApp(patient, appContext === '' ? undefined : appContext));
  });
}
