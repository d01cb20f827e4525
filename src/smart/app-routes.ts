/**
 * Serves the SMART app: its static pages, the fhirclient library from node_modules (no build step, nothing vendored
 * in the repository), its runtime configuration, and the evaluation API. The API receives the FHIR data the
 * browser read, never the browser's access token, and keeps nothing.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { Response, Router } from 'express';
import { DATA_VARIABLES } from '../engine/pack-types.js';
import type { RulePack } from '../engine/pack-types.js';
import { badRequest } from '../http/outcomes.js';
import type { Problem } from '../http/outcomes.js';
import { evaluateForApp } from './app-evaluation.js';
import type { AppEvaluationRequest } from './app-evaluation.js';
import { SMART_APP_SCOPES } from './app-scopes.js';

const STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'static');
const FHIR_CLIENT = createRequire(import.meta.url).resolve('fhirclient/build/fhir-client.min.js');
const RECORD_KEYS = DATA_VARIABLES.filter((v) => v !== 'patient');

/** What the app routes need. */
export interface AppRoutesOptions {
  /** The rule packs a request is evaluated with (the ones current when it arrived). */
  readonly packs: (res: Response) => readonly RulePack[];
  readonly clientId: string;
  readonly allowedIssuers: readonly string[];
  readonly publicBaseUrl: string;
  readonly maxBodyBytes: number;
  readonly clock: () => Date;
}

const isResourceList = (v: unknown): v is { resourceType: string }[] =>
  Array.isArray(v) && v.every((r) => typeof r === 'object' && r !== null && typeof (r as { resourceType?: unknown }).resourceType === 'string');

/** Checks the evaluation request's shape; 400 naming each problem. */
function parseRequest(body: unknown): AppEvaluationRequest {
  const problems: Problem[] = [];
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const patient = b['patient'] as { resourceType?: unknown } | undefined;
  if (patient?.resourceType !== 'Patient') problems.push({ code: 'required', expression: 'patient', message: 'patient must be a Patient resource' });
  const records = (typeof b['records'] === 'object' && b['records'] !== null ? b['records'] : {}) as Record<string, unknown>;
  for (const key of RECORD_KEYS) if (records[key] !== undefined && !isResourceList(records[key])) problems.push({ code: 'structure', expression: `records.${key}`, message: `records.${key} must be a list of resources` });
  if (!isResourceList(b['orders'])) problems.push({ code: 'structure', expression: 'orders', message: 'orders must be a list of resources' });
  if (b['supporting'] !== undefined && !isResourceList(b['supporting'])) problems.push({ code: 'structure', expression: 'supporting', message: 'supporting must be a list of resources' });
  if (b['fhirServer'] !== undefined && typeof b['fhirServer'] !== 'string') problems.push({ code: 'structure', expression: 'fhirServer', message: 'fhirServer must be the FHIR base URL as a string' });
  if (problems.length > 0) throw badRequest(problems);
  return b as unknown as AppEvaluationRequest;
}

/**
 * Builds the router mounted at /app.
 * @param options - packs, client id, allowed issuers, base URL, body limit, clock.
 * @returns the router.
 */
export function appRoutes(options: AppRoutesOptions): Router {
  const router = express.Router();
  router.get('/vendor/fhir-client.js', (_req, res) => {
    res.type('application/javascript').sendFile(FHIR_CLIENT);
  });
  router.get('/config.js', (_req, res) => {
    const config = { clientId: options.clientId, scope: SMART_APP_SCOPES, allowedIssuers: options.allowedIssuers, redirectUri: 'index.html' };
    res.type('application/javascript').set('Cache-Control', 'no-store').send(`window.ITCDS_CONFIG = ${JSON.stringify(config)};\n`);
  });
  router.post('/api/evaluate', express.json({ limit: options.maxBodyBytes, type: ['application/json', 'application/fhir+json'] }), (req, res) => {
    res.set('Cache-Control', 'no-store').json(evaluateForApp(options.packs(res), parseRequest(req.body), options.clock(), options.publicBaseUrl));
  });
  router.use(express.static(STATIC_DIR, { index: 'index.html', setHeaders: (res) => res.set('Cache-Control', 'no-cache') }));
  return router;
}
