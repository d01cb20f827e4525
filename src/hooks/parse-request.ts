/**
 * Turns a hook request body into a checked HookRequest (https://cds-hooks.hl7.org/2.0/#calling-a-cds-service).
 * Lenient where real clients deviate harmlessly (no `Bundle.type` on draftOrders, an empty access token,
 * undeclared prefetch keys, unknown context fields); 400 naming every problem where the request is unusable.
 */
import type { Bundle, BundleEntry, Task } from '@medplum/fhirtypes';
import { ORDER_TYPES } from '../engine/pack-types.js';
import { isJsonObject, isResource, otherPatientOf } from '../fhir/json.js';
import type { JsonObject } from '../fhir/json.js';
import { badRequest } from '../http/outcomes.js';
import type { Problem } from '../http/outcomes.js';
import { CONFIGURATION_EXTENSION, OPTIONS_EXTENSION } from '../services/configuration-options.js';
import type { ServiceDefinition } from '../services/service-definitions.js';
import type { FhirAuthorization, HookContext, HookRequest, PrefetchValue } from './types.js';

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

class Checker {
  readonly problems: Problem[] = [];

  fail(expression: string, message: string, code: Problem['code'] = 'invalid'): void {
    this.problems.push({ code, message, expression });
  }

  requiredString(obj: JsonObject, field: string, path: string): string | undefined {
    const value = obj[field];
    if (value === undefined || value === null) this.fail(path, `${path} is required`, 'required');
    else if (!nonEmptyString(value)) this.fail(path, `${path} must be a non-empty string`);
    else return value;
    return undefined;
  }

  optionalString(obj: JsonObject, field: string, path: string): string | undefined {
    const value = obj[field];
    if (value === undefined || value === null) return undefined;
    if (!nonEmptyString(value)) this.fail(path, `${path} must be a non-empty string when present`);
    else return value;
    return undefined;
  }
}

function parseFhirServer(body: JsonObject, c: Checker): string | undefined {
  const raw = c.optionalString(body, 'fhirServer', 'fhirServer');
  if (raw === undefined) return undefined;
  try {
    const url = new URL(raw);
    if (url.protocol === 'http:' || url.protocol === 'https:') return raw.replace(/\/+$/, '');
  } catch {
    // reported below
  }
  c.fail('fhirServer', 'fhirServer must be an absolute http(s) URL');
  return undefined;
}

function parseAuthorization(body: JsonObject, c: Checker, fhirServer: string | undefined): FhirAuthorization | undefined {
  const raw = body['fhirAuthorization'];
  if (raw === undefined || raw === null) return undefined;
  if (!isJsonObject(raw)) {
    c.fail('fhirAuthorization', 'fhirAuthorization must be an object');
    return undefined;
  }
  if (body['fhirServer'] === undefined) c.fail('fhirAuthorization', 'fhirAuthorization requires fhirServer (cds-r-1)');
  const token = raw['access_token'];
  if (token !== undefined && typeof token !== 'string') {
    c.fail('fhirAuthorization.access_token', 'fhirAuthorization.access_token must be a string');
    return undefined;
  }
  // An empty token (seen from real clients) is harmless: the service simply calls fhirServer without one.
  if (!token || fhirServer === undefined) return undefined;
  const auth: FhirAuthorization = { access_token: token };
  for (const field of ['token_type', 'scope', 'subject', 'patient'] as const) {
    if (typeof raw[field] === 'string') auth[field] = raw[field];
  }
  if (typeof raw['expires_in'] === 'number') auth.expires_in = raw['expires_in'];
  return auth;
}

/** A context Bundle of resources: order-sign's and order-select's draftOrders, appointment-book's appointments. */
function parseContextBundle(context: JsonObject, c: Checker, field: 'draftOrders' | 'appointments'): Bundle | undefined {
  const raw = context[field];
  const path = `context.${field}`;
  if (raw === undefined || raw === null) {
    c.fail(path, `${path} is required for this hook`, 'required');
    return undefined;
  }
  if (!isJsonObject(raw) || raw['resourceType'] !== 'Bundle') {
    c.fail(path, `${path} must be a FHIR Bundle`, 'structure');
    return undefined;
  }
  const entries = raw['entry'] ?? [];
  if (!Array.isArray(entries)) {
    c.fail(`${path}.entry`, `${path}.entry must be an array`, 'structure');
    return undefined;
  }
  const entry: BundleEntry[] = [];
  entries.forEach((e: unknown, i) => {
    const resource = isJsonObject(e) ? e['resource'] : undefined;
    if (!isResource(resource)) c.fail(`${path}.entry[${i}].resource`, `each ${field === 'appointments' ? 'appointment' : 'draft order'} entry needs a FHIR resource`, 'structure');
    else entry.push({ ...(e as BundleEntry), resource });
  });
  // Bundle.type is 1..1 in FHIR, but the CDS Hooks sandbox omits it; default it rather than refuse.
  return { ...(raw as unknown as Bundle), type: (raw['type'] as Bundle['type']) ?? 'collection', entry };
}

function parseSelections(context: JsonObject, c: Checker, draftOrders: Bundle | undefined): string[] | undefined {
  const raw = context['selections'];
  const path = 'context.selections';
  if (!Array.isArray(raw) || raw.length === 0 || !raw.every(nonEmptyString)) {
    c.fail(path, `${path} is required for this hook: a non-empty array of "Type/id" references`, 'required');
    return undefined;
  }
  const present = new Set(
    (draftOrders?.entry ?? []).map((e) => e.resource && `${e.resource.resourceType}/${e.resource.id ?? ''}`)
  );
  raw.forEach((ref, i) => {
    if (draftOrders && !present.has(ref)) c.fail(`${path}[${i}]`, `selection "${ref}" is not an entry of draftOrders`, 'value');
  });
  return raw;
}

/** A local reference (`Type/id`), as order-dispatch names its orders and its performer. */
const LOCAL_REFERENCE = /^([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}$/;

/**
 * order-dispatch's own context: the existing orders whose fulfilment is sought (by reference: the service reads
 * them from the prefetch or the fhirServer), who is asked to perform them, and the fulfilment Tasks if sent.
 */
function parseDispatch(context: JsonObject, c: Checker, into: HookContext): void {
  const orders = context['dispatchedOrders'];
  const path = 'context.dispatchedOrders';
  if (!Array.isArray(orders) || orders.length === 0) {
    c.fail(path, `${path} is required for this hook: a non-empty array of "Type/id" references to the orders dispatched`, 'required');
  } else {
    orders.forEach((ref: unknown, i) => {
      const type = typeof ref === 'string' ? LOCAL_REFERENCE.exec(ref)?.[1] : undefined;
      if (type === undefined || !ORDER_TYPES.has(type)) c.fail(`${path}[${i}]`, `${path}[${i}] must be a "Type/id" reference to an order (${[...ORDER_TYPES].join(', ')})`, 'value');
    });
    into.dispatchedOrders = orders as string[];
  }
  const performer = c.requiredString(context, 'performer', 'context.performer');
  if (performer !== undefined && !LOCAL_REFERENCE.test(performer)) c.fail('context.performer', 'context.performer must be a "Type/id" reference (an Organization, a Practitioner, ...)', 'value');
  else if (performer !== undefined) into.performer = performer;
  const tasks = context['fulfillmentTasks'];
  if (tasks === undefined || tasks === null) return;
  if (!Array.isArray(tasks) || !tasks.every((t) => isResource(t) && t.resourceType === 'Task')) {
    c.fail('context.fulfillmentTasks', 'context.fulfillmentTasks must be an array of Task resources when present', 'structure');
    return;
  }
  into.fulfillmentTasks = tasks as Task[];
}

function parseContext(body: JsonObject, c: Checker, service: ServiceDefinition): HookContext | undefined {
  const raw = body['context'];
  if (!isJsonObject(raw)) {
    c.fail('context', 'context is required and must be an object', 'required');
    return undefined;
  }
  // order-dispatch's context has no user (it may run in a back office); every other hook's names one.
  const userId = service.hook === 'order-dispatch' ? c.optionalString(raw, 'userId', 'context.userId') : c.requiredString(raw, 'userId', 'context.userId');
  const patientId = c.requiredString(raw, 'patientId', 'context.patientId');
  // The encounter hooks are about one encounter: its id is required there, optional elsewhere.
  const encounterId = service.hook === 'encounter-start' || service.hook === 'encounter-discharge' ? c.requiredString(raw, 'encounterId', 'context.encounterId') : c.optionalString(raw, 'encounterId', 'context.encounterId');
  const context: HookContext = { userId: userId ?? '', patientId: patientId ?? '' };
  if (encounterId) context.encounterId = encounterId;
  if (service.hook === 'order-sign' || service.hook === 'order-select' || service.hook === 'appointment-book') {
    const field = service.hook === 'appointment-book' ? 'appointments' : 'draftOrders';
    const bundle = parseContextBundle(raw, c, field);
    if (bundle) context[field] = bundle;
    // An order or appointment of another patient would be judged against this patient's record (an integration fault).
    bundle?.entry?.forEach((e, i) => {
      const judged = e.resource && (ORDER_TYPES.has(e.resource.resourceType) || e.resource.resourceType === 'Appointment');
      const other = judged && e.resource && patientId ? otherPatientOf(e.resource, patientId) : undefined;
      if (other) c.fail(`context.${field}.entry[${i}].resource`, `this ${field === 'appointments' ? 'appointment' : 'draft order'} is for ${other}, not the context's patient (Patient/${patientId ?? ''})`, 'value');
    });
  }
  if (service.hook === 'order-select') {
    const selections = parseSelections(raw, c, context.draftOrders);
    if (selections) context.selections = selections;
  }
  if (service.hook === 'order-dispatch') parseDispatch(raw, c, context);
  return context;
}

/** Checks one declared prefetch value against what its template asks for. */
function parsePrefetchValue(value: unknown, key: string, expected: { kind: string; resourceType: string }, c: Checker): PrefetchValue | undefined {
  const path = `prefetch.${key}`;
  if (value === null) return null;
  if (!isResource(value)) {
    c.fail(path, `${path} must be a FHIR resource, a Bundle or null`, 'structure');
    return undefined;
  }
  if (value.resourceType === 'OperationOutcome') return value;
  if (expected.kind === 'read') {
    if (value.resourceType !== expected.resourceType) {
      c.fail(path, `${path} must be a ${expected.resourceType}, got ${value.resourceType}`, 'value');
      return undefined;
    }
    return value;
  }
  if (value.resourceType !== 'Bundle') {
    c.fail(path, `${path} must be a Bundle of ${expected.resourceType}, got ${value.resourceType}`, 'value');
    return undefined;
  }
  const bundle = value;
  if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) {
    c.fail(`${path}.entry`, `${path}.entry must be an array`, 'structure');
    return undefined;
  }
  const entry: BundleEntry[] = [];
  (bundle.entry ?? []).forEach((e, i) => {
    const resource: unknown = isJsonObject(e) ? e.resource : undefined;
    const mode = isJsonObject(e) ? (e as BundleEntry).search?.mode : undefined;
    if (!isResource(resource)) c.fail(`${path}.entry[${i}].resource`, 'each prefetch Bundle entry needs a FHIR resource', 'structure');
    // A Medication beside the matches is what `_include=MedicationRequest:medication` adds (some clients leave out
    // search.mode): kept, as the drug of a prescription that references it.
    else if (resource.resourceType === expected.resourceType || resource.resourceType === 'Medication') entry.push({ ...e, resource });
    else if (mode !== 'include' && mode !== 'outcome' && resource.resourceType !== 'OperationOutcome') {
      c.fail(`${path}.entry[${i}].resource`, `${path} must hold ${expected.resourceType} resources, got ${resource.resourceType}`, 'value');
    }
  });
  return { ...bundle, entry };
}

function parsePrefetch(body: JsonObject, c: Checker, service: ServiceDefinition): Record<string, PrefetchValue> {
  const raw = body['prefetch'];
  const result: Record<string, PrefetchValue> = {};
  if (raw === undefined || raw === null) return result;
  if (!isJsonObject(raw)) {
    c.fail('prefetch', 'prefetch must be an object', 'structure');
    return result;
  }
  // Only declared keys are read; anything else a client sends is ignored (CDS Hooks 2.0, prefetch).
  for (const { key, parsed } of service.prefetch) {
    if (!(key in raw)) continue;
    const value = parsePrefetchValue(raw[key], key, parsed, c);
    if (value !== undefined) result[key] = value;
  }
  return result;
}

/**
 * The CRD configuration the call sets (`extension["davinci-crd.configuration"]`: option code -> value), kept for
 * the options the service offers. Lenient: no configuration, or an `extension` that is not an object, is the
 * default (every card type on); an option the service does not offer is ignored whatever its value (CRD: SHALL
 * ignore unsupported configuration); "true" and "false" as text mean the booleans. A configuration that is not an
 * object, or an offered option set to anything else, is refused: the client asked for something the service cannot
 * tell, and guessing would show or hide cards against its intent.
 */
function parseConfiguration(body: JsonObject, c: Checker, service: ServiceDefinition): Record<string, boolean> | undefined {
  const extension = body['extension'];
  const raw = isJsonObject(extension) ? extension[CONFIGURATION_EXTENSION] : undefined;
  if (raw === undefined || raw === null) return undefined;
  const path = `extension.${CONFIGURATION_EXTENSION}`;
  if (!isJsonObject(raw)) {
    c.fail(path, `${path} must be an object of option codes and values (see ${OPTIONS_EXTENSION} in GET /cds-services)`, 'structure');
    return undefined;
  }
  const configuration: Record<string, boolean> = {};
  for (const option of service.configurationOptions ?? []) {
    const value = raw[option.code];
    if (value === undefined || value === null) continue;
    const flag = value === 'true' ? true : value === 'false' ? false : value;
    if (typeof flag === 'boolean') configuration[option.code] = flag;
    else c.fail(`${path}.${option.code}`, `${path}.${option.code} must be true or false, got ${Array.isArray(value) ? 'an array' : `a ${typeof value}`}`, 'value');
  }
  return Object.keys(configuration).length > 0 ? configuration : undefined;
}

/**
 * Parses and checks a hook request for a service.
 * @param body - the parsed JSON body.
 * @param service - the service that was called.
 * @returns the checked request.
 * @throws HttpError 400 listing every problem found, each with its place in the request.
 */
export function parseHookRequest(body: unknown, service: ServiceDefinition): HookRequest {
  const c = new Checker();
  if (!isJsonObject(body)) throw badRequest([{ code: 'structure', message: 'The request body must be a JSON object' }]);
  const hook = c.requiredString(body, 'hook', 'hook');
  if (hook !== undefined && hook !== service.hook) {
    c.fail('hook', `hook "${hook}" does not match service ${service.id}, which answers "${service.hook}"`, 'value');
  }
  const hookInstance = c.requiredString(body, 'hookInstance', 'hookInstance');
  const fhirServer = parseFhirServer(body, c);
  const fhirAuthorization = parseAuthorization(body, c, fhirServer);
  const context = parseContext(body, c, service);
  const prefetch = parsePrefetch(body, c, service);
  const configuration = parseConfiguration(body, c, service);
  if (c.problems.length > 0 || !context || !hookInstance) throw badRequest(c.problems);
  return {
    hook: service.hook,
    hookInstance,
    ...(fhirServer ? { fhirServer } : {}),
    ...(fhirAuthorization ? { fhirAuthorization } : {}),
    context,
    prefetch,
    ...(configuration ? { configuration } : {}),
  };
}
