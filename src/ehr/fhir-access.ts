/**
 * Access control of the embedded FHIR server for SMART tokens issued by the embedded authorization server: a
 * bearer token must be valid and unexpired (401 otherwise), its scopes must allow the interaction on the resource
 * type (403 otherwise), and a patient-context token reaches only its patient's compartment. Requests without a
 * token are served only when the configuration allows it (development: hook prefetch and the CDS Hooks sandbox).
 */
import type { NextFunction, Request, Response } from 'express';
import type Provider from 'oidc-provider';
import { HttpError } from '../http/outcomes.js';
import type { LaunchContexts } from './launch-contexts.js';
import { scopeAllows } from './smart-scopes.js';
import type { Interaction } from './smart-scopes.js';

const PATIENT_PARAMS = ['patient', 'subject', 'beneficiary'];

function forbidden(message: string): HttpError {
  return new HttpError(403, [{ code: 'security', message }]);
}

function invalidToken(): HttpError {
  return new HttpError(401, [{ code: 'security', message: 'The access token is invalid or expired' }], { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
}

function interactionOf(req: Request): { type: string; interaction: Interaction; id?: string } | undefined {
  const [type, id] = req.path.split('/').filter(Boolean);
  if (!type || !/^[A-Z][A-Za-z]+$/.test(type)) return undefined;
  if (req.method === 'POST' && !id) return { type, interaction: 'create' };
  if (req.method === 'GET') return id ? { type, interaction: 'read', id } : { type, interaction: 'search' };
  return undefined;
}

/**
 * Builds the access-control middleware for `/fhir`.
 * @param provider - the authorization server (tokens are looked up in it).
 * @param contexts - launch contexts per grant (the patient of a patient-context token).
 * @param requireToken - whether requests without a token are refused.
 * @returns the middleware.
 */
export function fhirAccess(provider: Provider, contexts: LaunchContexts, requireToken: boolean) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    if (req.method === 'OPTIONS' || req.path === '/metadata' || req.path.startsWith('/.well-known/') || req.path.startsWith('/_services/')) {
      next();
      return;
    }
    const header = req.headers.authorization;
    const token = header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
    if (!token) {
      if (requireToken) throw invalidToken();
      next();
      return;
    }
    const accessToken = await provider.AccessToken.find(token);
    if (!accessToken || accessToken.isExpired) throw invalidToken();
    const scopes = new Set((accessToken.scope ?? '').split(' ').filter(Boolean));
    const what = interactionOf(req);
    if (!what) throw forbidden('This request is not allowed with a SMART app token');
    if (!scopeAllows(scopes, what.type, what.interaction)) throw forbidden(`The access token does not allow ${what.interaction} of ${what.type}`);
    const patient = contexts.grant(accessToken.grantId)?.patient;
    const patientScoped = [...scopes].some((s) => s.startsWith('patient/'));
    if (patient && patientScoped) {
      const refs = [patient, `Patient/${patient}`];
      if (what.type === 'Patient' && what.interaction === 'read' && what.id !== patient) throw forbidden('The token reaches only its patient');
      if (what.interaction === 'search' && what.type !== 'Patient' && !PATIENT_PARAMS.some((p) => { const v = req.query[p]; return typeof v === 'string' && refs.includes(v); })) {
        throw forbidden('A search with a patient token must name its patient');
      }
      if (what.interaction === 'create') {
        const body = req.body as { subject?: { reference?: string } } | undefined;
        if (!refs.includes(body?.subject?.reference ?? '')) throw forbidden('A resource created with a patient token must be about its patient');
      }
    }
    next();
  };
}
