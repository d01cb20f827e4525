/**
 * Access control of the embedded FHIR server for SMART tokens issued by the embedded authorization server: a
 * bearer token must be valid and unexpired (401 otherwise), and its scopes must allow the interaction on the
 * resource type (403 otherwise). What only a patient-level scope allows reaches only the patient of the launch
 * context (nothing without one), in its compartment: its Patient (read, or search by `_id`), searches that name the
 * patient, reads of resources that point at the patient (or at no patient: a Medication), creates about the patient.
 * Only plain reads, searches without `_include`/`_revinclude`, and creates are open to a token: history, operations
 * and batches are refused. Requests without a token are served only when the configuration allows it (development:
 * hook prefetch and the sandbox).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { NextFunction, Request, Response } from 'express';
import type Provider from 'oidc-provider';
import { isResource } from '../fhir/json.js';
import { HttpError } from '../http/outcomes.js';
import type { LaunchContexts } from './launch-contexts.js';
import { scopeAllows } from './smart-scopes.js';
import type { Interaction } from './smart-scopes.js';

const PATIENT_PARAMS = ['patient', 'subject', 'beneficiary'];

/** The elements by which a resource of the patient compartment points at its patient (FHIR R4 CompartmentDefinition patient, as references). */
const PATIENT_LINKS = ['subject', 'patient', 'beneficiary', 'subscriber', 'policyHolder'];

/** A logical id as FHIR R4 defines it: anything else after a type (`_history`, `$everything`) is not a plain read. */
const ID = '[A-Za-z0-9\\-.]{1,64}';
const FHIR_ID = new RegExp(`^${ID}$`);
/** A reference to a Patient, relative or absolute, versioned or not; the id is the first group. */
const PATIENT_REFERENCE = new RegExp(`(?:^|/)Patient/(${ID})(?:/_history/[^/]+)?$`);

/** Search parameters that add resources other than the matches: `_include`, `_revinclude`, with any modifier. */
const INCLUDES = /^_(?:rev)?include(?::|$)/;

/** Reads a resource of the server the middleware guards, for the compartment check of a read. */
export type ResourceLookup = (type: string, id: string) => Promise<Resource | undefined>;

function forbidden(message: string): HttpError {
  return new HttpError(403, [{ code: 'security', message }]);
}

function invalidToken(): HttpError {
  return new HttpError(401, [{ code: 'security', message: 'The access token is invalid or expired' }], { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
}

function interactionOf(req: Request): { type: string; interaction: Interaction; id?: string } | undefined {
  const [type, id, ...rest] = req.path.split('/').filter(Boolean);
  if (!type || !/^[A-Z][A-Za-z]+$/.test(type) || rest.length > 0 || (id !== undefined && !FHIR_ID.test(id))) return undefined;
  if (req.method === 'POST' && !id) return { type, interaction: 'create' };
  if (req.method === 'GET') return id ? { type, interaction: 'read', id } : { type, interaction: 'search' };
  return undefined;
}

/**
 * What a resource's patient links point at: undefined when it has none (a Medication, a Practitioner), else the
 * patient ids of its `Patient/x` references (versioned or absolute too; other targets and identifier-only
 * references give no id, so they never count as the token's patient).
 */
function linkedPatients(resource: Resource): string[] | undefined {
  const record = resource as unknown as Record<string, unknown>;
  const links = PATIENT_LINKS.filter((key) => record[key] !== undefined);
  if (links.length === 0) return undefined;
  return links.flatMap((key) => {
    const reference = (record[key] as { reference?: unknown } | null)?.reference;
    const match = typeof reference === 'string' ? PATIENT_REFERENCE.exec(reference) : null;
    return match?.[1] ? [match[1]] : [];
  });
}

/**
 * Refuses what a patient-context token may not do: another patient, a search that does not name its patient, a
 * read of a resource about another patient, a create that is not about its patient. Reads and creates are judged
 * by the same patient links.
 */
async function checkCompartment(req: Request, what: { type: string; interaction: Interaction; id?: string }, patient: string, lookup: ResourceLookup): Promise<void> {
  if (what.type === 'Patient' && what.interaction === 'read') {
    if (what.id !== patient) throw forbidden('The token reaches only its patient');
    return;
  }
  if (what.interaction === 'search') {
    // _include and _revinclude (with :iterate) add resources the search did not match, reached through shared
    // records such as the prescriber: any patient's.
    if (Object.keys(req.query).some((key) => INCLUDES.test(key))) throw forbidden('A search with a patient token may not add resources with _include or _revinclude');
    if (what.type === 'Patient') {
      if (req.query['_id'] !== patient) throw forbidden('A Patient search with a patient token must name its patient (_id)');
      return;
    }
    const refs = [patient, `Patient/${patient}`];
    const named = PATIENT_PARAMS.some((p) => {
      const v = req.query[p];
      return typeof v === 'string' && refs.includes(v);
    });
    if (!named) throw forbidden('A search with a patient token must name its patient');
  }
  if (what.interaction === 'read' && what.id) {
    const resource = await lookup(what.type, what.id);
    const linked = resource ? linkedPatients(resource) : undefined;
    if (linked && !linked.includes(patient)) throw forbidden('The token reaches only its patient');
  }
  if (what.interaction === 'create') {
    const body: unknown = req.body;
    if (!(isResource(body) && linkedPatients(body)?.includes(patient))) throw forbidden('A resource created with a patient token must be about its patient');
  }
}

/**
 * Builds the access-control middleware for `/fhir`.
 * @param provider - the authorization server (tokens are looked up in it).
 * @param contexts - launch contexts per grant (the patient of a patient-context token).
 * @param requireToken - whether requests without a token are refused.
 * @param lookup - reads a resource of the guarded server (for the compartment check of a read).
 * @returns the middleware.
 */
export function fhirAccess(provider: Provider, contexts: LaunchContexts, requireToken: boolean, lookup: ResourceLookup) {
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
    const userScopes = new Set([...scopes].filter((s) => s.startsWith('user/')));
    if (!scopeAllows(userScopes, what.type, what.interaction)) {
      // Allowed by a patient-level scope alone: it reaches its patient's compartment, and nothing without a patient.
      const patient = contexts.grant(accessToken.grantId)?.patient;
      if (!patient) throw forbidden('A patient-level scope without a patient in the launch context reaches no record');
      await checkCompartment(req, what, patient, lookup);
    }
    next();
  };
}
