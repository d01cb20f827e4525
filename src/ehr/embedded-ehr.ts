/**
 * The embedded EHR of the development default: the FHIR server with SMART endpoints and token checks, the
 * authorization server, the launcher and the consent page, and the launch endpoint the CDS Hooks sandbox calls
 * (`POST {fhirServer}/_services/smart/Launch`). What an EHR offers a SMART app, small and local.
 */
import express from 'express';
import type { NextFunction, Request, Response, Router } from 'express';
import type Provider from 'oidc-provider';
import type { Patient } from '@medplum/fhirtypes';
import { createEmbeddedFhir } from '../fhir/embedded-server.js';
import { describeEvidence } from '../engine/describe.js';
import { referenceOf } from '../fhir/json.js';
import type { EmbeddedFhir } from '../fhir/embedded-server.js';
import { badRequest, HttpError, notFound } from '../http/outcomes.js';
import { APP_LAUNCH_PATH, APP_REDIRECT_PATH } from '../smart/app-paths.js';
import { APP_CLIENT_ID, createAuthorizationServer, smartConfiguration } from './authorization-server.js';
import { fhirAccess } from './fhir-access.js';
import { LaunchContexts } from './launch-contexts.js';
import { authorizePage, launcherPage, refusalPage } from './pages.js';
import type { OrderChoice, PatientChoice } from './pages.js';
import { draftOrders, ORDER_SIGN_SERVICE } from './hook-calls.js';
import { addHookPages } from './hook-pages.js';
import { fillPrefetch, prefetchTemplates } from './prefetch.js';
import { applySuggestion } from './suggestions.js';

/** The signed-in user of the embedded EHR. */
export const EHR_USER = 'it-prac-1';

/** What the embedded EHR needs. */
export interface EmbeddedEhrOptions {
  readonly publicBaseUrl: string;
  readonly fixturesDir: string;
  readonly ordersDir: string;
  readonly accessTokenTtlS: number;
  /** Whether FHIR requests without a token are refused. */
  readonly requireToken: boolean;
  /**
   * Whether the launcher offers to call the service's hooks (sign pending orders, book a refill visit): the service
   * serves hook calls without a JWT.
   */
  readonly callHooks: boolean;
}

/** The embedded EHR's parts. */
export interface EmbeddedEhr {
  readonly fhir: EmbeddedFhir;
  readonly provider: Provider;
  readonly contexts: LaunchContexts;
  /** Launcher and consent pages, mounted at /ehr. */
  readonly pages: Router;
}

function patientLabel(p: Patient): string {
  const name = p.name?.[0];
  const text = name ? [name.given?.join(' '), name.family].filter(Boolean).join(' ') : p.id;
  return `${text ?? p.id ?? ''}${p.birthDate ? `, born ${p.birthDate}` : ''}`;
}

/** A fixture patient's narrative (Patient.text, where the fixtures say what the patient is there to show), as plain text. */
function narrativeOf(p: Patient): string | undefined {
  const entities: Readonly<Record<string, string>> = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' };
  const div: unknown = p.text?.div;
  if (typeof div !== 'string') return undefined;
  const text = div
    .replace(/<[^>]*>/g, ' ')
    // Named entities XHTML knows without a DTD, and numeric ones (&#39;, &#xA0;) as narrative generators write them.
    .replace(/&(?:(lt|gt|quot|apos|amp)|#(\d{1,7})|#x([0-9a-f]{1,6}));/gi, (whole, name?: string, dec?: string, hex?: string) => {
      const code = dec !== undefined ? Number(dec) : hex !== undefined ? parseInt(hex, 16) : undefined;
      if (code === undefined) return entities[name?.toLowerCase() ?? ''] ?? whole;
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    })
    .replace(/\s+/g, ' ')
    .trim();
  return text === '' ? undefined : text;
}

async function patients(fhir: EmbeddedFhir): Promise<PatientChoice[]> {
  const bundle = await fhir.repo.search<Patient>({ resourceType: 'Patient', count: 100 });
  return (bundle.entry ?? []).flatMap((e) => {
    const about = e.resource ? narrativeOf(e.resource) : undefined;
    return e.resource?.id ? [{ id: e.resource.id, label: patientLabel(e.resource), ...(about ? { about } : {}) }] : [];
  });
}

/** The draft orders an EHR would have pending for a patient, as a compact appContext (what a card would send). */
async function draftOrdersContext(fhir: EmbeddedFhir, patient: string): Promise<string | undefined> {
  const refs = (await draftOrders(fhir, patient)).map(referenceOf);
  return refs.length > 0 ? new URLSearchParams({ service: ORDER_SIGN_SERVICE, orders: refs.join(',') }).toString() : undefined;
}

/** Each patient's pending orders, described as the cards describe them. */
async function pendingOrders(fhir: EmbeddedFhir, all: readonly PatientChoice[]): Promise<Map<string, OrderChoice[]>> {
  const entries = await Promise.all(all.map(async (p) => [p.id, (await draftOrders(fhir, p.id)).map((o) => ({ reference: referenceOf(o), label: describeEvidence(referenceOf(o), o) }))] as const));
  return new Map(entries);
}

/** The fixture patient a form names, or 404. */
async function patientOf(fhir: EmbeddedFhir, form: unknown): Promise<PatientChoice> {
  const value = (form as Record<string, unknown>)['patient'];
  const found = (await patients(fhir)).find((p) => p.id === value);
  if (!found) throw notFound(`No fixture patient ${typeof value === 'string' ? value : ''}`);
  return found;
}

/**
 * Builds the embedded EHR.
 * @param options - base URL, fixtures, token lifetime, token requirement.
 * @returns its parts.
 */
export async function createEmbeddedEhr(options: EmbeddedEhrOptions): Promise<EmbeddedEhr> {
  const base = options.publicBaseUrl;
  const fhirBase = `${base}/fhir`;
  const contexts = new LaunchContexts();
  const provider = await createAuthorizationServer({
    issuer: `${base}/oidc`,
    redirectUris: [`${base}${APP_REDIRECT_PATH}`],
    fhirBase,
    accessTokenTtlS: options.accessTokenTtlS,
    contexts,
    interactionUrl: (uid) => `/ehr/authorize/${uid}`,
  });
  const smart = express.Router();
  smart.get('/.well-known/smart-configuration', (_req, res) => {
    res.json(smartConfiguration(`${base}/oidc`));
  });
  // The launch endpoint the CDS Hooks sandbox and the CRD request generator call before opening a smart link.
  smart.post('/_services/smart/Launch', (req, res) => {
    const params = (req.body as { parameters?: { patient?: unknown; appContext?: unknown } } | undefined)?.parameters;
    if (typeof params?.patient !== 'string' || params.patient === '') throw badRequest([{ code: 'required', expression: 'parameters.patient', message: 'parameters.patient is required' }]);
    const appContext = typeof params.appContext === 'string' && params.appContext !== '' ? params.appContext : undefined;
    res.json({ launch_id: contexts.create({ patient: params.patient, ...(appContext ? { appContext } : {}) }) });
  });
  const fhir = await createEmbeddedFhir(options.fixturesDir, options.ordersDir, (repo) => {
    const access = fhirAccess(provider, contexts, options.requireToken, (type, id) => repo.readResource(type, id).catch(() => undefined));
    const guard = (req: Request, res: Response, next: NextFunction): void => {
      access(req, res, next).catch(next);
    };
    return [smart, guard];
  });

  const pages = express.Router();
  pages.use(express.urlencoded({ extended: false, limit: '64kb' }));
  const launchApp = (patient: string, appContext: string | undefined): string =>
    `${base}${APP_LAUNCH_PATH}?iss=${encodeURIComponent(fhirBase)}&launch=${encodeURIComponent(contexts.create({ patient, ...(appContext ? { appContext } : {}) }))}`;
  pages.get('/launcher', async (req, res) => {
    const all = await patients(fhir);
    const hooks = options.callHooks ? { pending: await pendingOrders(fhir, all), prefetch: req.query['prefetch'] === '1' } : undefined;
    res.type('html').send(launcherPage(all, `${base}${APP_LAUNCH_PATH}?iss=${encodeURIComponent(fhirBase)}`, hooks));
  });
  pages.post('/launch', async (req, res) => {
    const patient = (await patientOf(fhir, req.body)).id;
    res.redirect(303, launchApp(patient, await draftOrdersContext(fhir, patient)));
  });
  if (options.callHooks) {
    addHookPages(pages, {
      base,
      user: `Practitioner/${EHR_USER}`,
      patientOf: (form) => patientOf(fhir, form),
      draftOrders: (patient) => draftOrders(fhir, patient),
      launchApp,
      storeEncounter: (encounter) => fhir.repo.createResource(encounter),
      prefetch: async (service, hook, context) => fillPrefetch(fhir, await prefetchTemplates(base, service), hook, context),
      applySuggestion: async (suggestion) => applySuggestion(fhir.repo, suggestion, (await draftOrders(fhir, suggestion.patient)).map(referenceOf)),
    });
  }
  pages.get('/authorize/:uid', async (req, res) => {
    const details = await provider.interactionDetails(req, res);
    const params = details.params as Record<string, string | undefined>;
    const launch = contexts.launch(params['launch']);
    const all = await patients(fhir);
    const patient = launch?.patient ? all.find((p) => p.id === launch.patient) ?? { id: launch.patient, label: launch.patient } : undefined;
    const scopes = (params['scope'] ?? '').split(' ').filter(Boolean);
    res.type('html').send(authorizePage({ uid: details.uid, clientName: 'Intrathecal therapy review', scopes, ...(patient ? { patient } : {}), patients: all }));
  });
  pages.post('/authorize/:uid', async (req, res) => {
    const details = await provider.interactionDetails(req, res);
    const form = req.body as Record<string, string | string[] | undefined>;
    if (form['decision'] !== 'allow') {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The user denied access' }, { mergeWithLastSubmission: false });
      return;
    }
    const params = details.params as Record<string, string | undefined>;
    const requested = new Set((params['scope'] ?? '').split(' ').filter(Boolean));
    const checked = ([] as string[]).concat(form['scope'] ?? []).filter((s) => requested.has(s));
    const launch = contexts.launch(params['launch']);
    const patient = launch?.patient ?? (typeof form['patient'] === 'string' ? form['patient'] : undefined);
    const grant = new provider.Grant({ accountId: EHR_USER, clientId: params['client_id'] ?? APP_CLIENT_ID });
    grant.addOIDCScope(checked.join(' '));
    // Scopes the user unticked are rejected, not missing: the app gets less, and is not asked again.
    const rejected = [...requested].filter((s) => !checked.includes(s));
    if (rejected.length > 0) grant.rejectOIDCScope(rejected.join(' '));
    const grantId = await grant.save();
    contexts.setGrant(grantId, { ...(patient ? { patient } : {}), ...(launch?.appContext ? { appContext: launch.appContext } : {}) });
    await provider.interactionFinished(req, res, { login: { accountId: EHR_USER }, consent: { grantId } }, { mergeWithLastSubmission: false });
  });
  // A refusal of what a page's form asked is shown as a page to a browser; an API caller gets the OperationOutcome.
  pages.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (!(err instanceof HttpError) || res.headersSent || req.accepts(['json', 'html']) !== 'html') {
      next(err);
      return;
    }
    for (const [name, value] of Object.entries(err.headers)) res.setHeader(name, value);
    res.status(err.status).type('html').send(refusalPage(err.status, err.outcome));
  });
  return { fhir, provider, contexts, pages };
}
