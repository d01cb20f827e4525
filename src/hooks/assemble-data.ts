/**
 * Data assembly: for every declared prefetch key, use what the client sent, or read it from the client's
 * fhirServer; all reads in parallel under one deadline. Required keys that cannot be had end the request
 * with 412 naming each key; optional ones are reported as unavailable so the guidance can say so. On order-dispatch,
 * the orders the context names are then taken from the prefetch or read, and on appointment-book the ServiceRequests
 * the Appointments are based on (orders-by-reference.ts); on encounter-start, best effort, the Appointment and the
 * ServiceRequests its Encounter names (encounter-parts.ts). Then the Medications that the orders and
 * the record reference by `Medication/<id>` and that came neither with the draft orders nor included in a Bundle
 * are read from the same fhirServer, under the same deadline.
 */
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { appointmentOrderReferences } from '../fhir/appointment-orders.js';
import { encounterPartReferences } from '../fhir/encounter-parts.js';
import { collectPages, FhirFetchError, readResource, search } from '../fhir/fhir-client.js';
import type { FhirSource, SearchResult } from '../fhir/fhir-client.js';
import type { FhirReads } from '../fhir/fhir-reads.js';
import { CALLER_GONE } from '../fhir/http-get.js';
import { otherPatientOf, referenceOf, resourcesByReference } from '../fhir/json.js';
import { medicationsByKey, missingMedications } from '../fhir/medication-references.js';
import { preconditionFailed } from '../http/outcomes.js';
import type { Problem } from '../http/outcomes.js';
import type { PrefetchKey, ServiceDefinition } from '../services/service-definitions.js';
import { ordersByReference } from './orders-by-reference.js';
import { fillTemplate } from './prefetch-template.js';
import { ENCOUNTER_KEY } from './types.js';
import type { HookRequest } from './types.js';

/** A key whose data could not be had, and why. */
export interface UnavailableKey {
  readonly key: string;
  readonly reason: string;
}

/** The patient data of one request, per prefetch key. */
export interface AssembledData {
  /** Resources per key: a read key holds zero or one resource, a search key the matches. */
  readonly resources: Readonly<Record<string, readonly Resource[]>>;
  /** Optional keys that could not be had. */
  readonly unavailable: readonly UnavailableKey[];
  /**
   * Medications referenced by `Medication/<id>` that were included in a prefetch Bundle or read from the
   * fhirServer (those sent with the draft orders stay there).
   */
  readonly medications?: readonly Resource[];
  /** Referenced Medications that could not be had: the key is `Medication/<id>`. */
  readonly unreadMedications?: readonly UnavailableKey[];
  /** order-dispatch: the orders its context names, in its order, from the prefetch or read from the fhirServer. */
  readonly dispatchedOrders?: readonly Resource[];
  /**
   * appointment-book: the ServiceRequests its Appointments are based on by reference (CRD "Appointment with
   * Order"), from the appointments Bundle, the prefetch, or read from the fhirServer.
   */
  readonly appointmentOrders?: readonly Resource[];
  /**
   * encounter-start: the Appointment and ServiceRequests its Encounter names (`appointment`, `basedOn`), those that
   * could be had, from the prefetch or read from the fhirServer; none is needed (the visit may carry its own codes).
   */
  readonly encounterParts?: readonly Resource[];
}

/** At most this many Medications are read per call; draft orders' first, then the record's as first named. */
export const MAX_MEDICATION_READS = 25;

/** Options of one assembly. */
export interface AssembleOptions {
  /** One deadline for every FHIR call of this request. */
  readonly deadlineMs: number;
  /** Timeout of each single FHIR call (defaults to the deadline). */
  readonly callTimeoutMs?: number;
  /** Decides whether the service may contact this fhirServer; false means "treat as absent". */
  readonly mayContact?: (fhirServer: string) => boolean;
  /** Where each read from the fhirServer is noted (the audit log keeps them), when the caller wants them. */
  readonly reads?: FhirReads;
  /**
   * Aborted when the caller of the hook has closed its connection: reads in progress stop and none is started, so an
   * EHR that gave up on the answer (CRD allows it 5 s) is not read from for nobody, unrecorded.
   */
  readonly callerGone?: AbortSignal;
}

function outcomeText(outcome: OperationOutcome): string {
  const first = outcome.issue?.[0];
  return first?.details?.text ?? first?.diagnostics ?? first?.code ?? 'an error';
}

const NOTHING: SearchResult = { matches: [], medications: [] };

async function fetchKey(p: PrefetchKey, relative: string, source: FhirSource): Promise<SearchResult> {
  if (p.parsed.kind === 'read') {
    const resource = await readResource(relative, p.parsed.resourceType, source);
    return resource ? { matches: [resource], medications: [] } : NOTHING;
  }
  return search(relative, p.parsed.resourceType, source);
}

/** Why the service did not read from the request's fhirServer. */
function noSourceReason(request: HookRequest): string {
  return request.fhirServer ? 'the fhirServer is not one this caller may have the service contact' : 'the request names no fhirServer';
}

async function resolveKey(p: PrefetchKey, request: HookRequest, source: () => FhirSource | undefined): Promise<SearchResult> {
  const value = request.prefetch[p.key];
  // null: the client looked and found nothing; do not ask again.
  if (value === null) return NOTHING;
  if (value?.resourceType === 'OperationOutcome') {
    throw new FhirFetchError(`the client's prefetch reported ${outcomeText(value)}`);
  }
  if (value !== undefined) {
    if (value.resourceType !== 'Bundle') return { matches: [value], medications: [] };
    // The fhirServer is needed only to follow the Bundle's next pages.
    return collectPages(value, p.parsed.resourceType, value.link?.some((l) => l.relation === 'next') ? source() : undefined);
  }
  const relative = fillTemplate(p.parsed, request.context);
  if (relative === undefined) throw new FhirFetchError('not prefetched, and the request lacks a value its query needs');
  const from = source();
  if (!from) throw new FhirFetchError(`not prefetched, and ${noSourceReason(request)}`);
  return fetchKey(p, relative, from);
}

/**
 * One request's view of its fhirServer: made when first needed (a request whose data all came prefetched starts no
 * timer), refused when the caller may not have the service contact it, aborted when the deadline passes.
 */
function lazySource(request: HookRequest, options: AssembleOptions): { get: () => FhirSource | undefined; close: () => void } {
  const usable = request.fhirServer !== undefined && (options.mayContact?.(request.fhirServer) ?? true);
  let source: FhirSource | undefined;
  let timer: NodeJS.Timeout | undefined;
  return {
    get: () => {
      if (!usable || source) return source;
      const deadline = new AbortController();
      timer = setTimeout(() => deadline.abort(), options.deadlineMs);
      const { callerGone } = options;
      if (callerGone?.aborted) deadline.abort(CALLER_GONE);
      else callerGone?.addEventListener('abort', () => deadline.abort(CALLER_GONE), { once: true });
      source = {
        baseUrl: request.fhirServer as string,
        signal: deadline.signal,
        callTimeoutMs: options.callTimeoutMs ?? options.deadlineMs,
        ...(request.fhirAuthorization ? { accessToken: request.fhirAuthorization.access_token } : {}),
        ...(options.reads ? { reads: options.reads } : {}),
      };
      return source;
    },
    // A timer left running fires long after the answer and builds an abort error for nobody.
    close: () => clearTimeout(timer),
  };
}

/** Reads the Medications referenced and not at hand; what cannot be had is named with the reason. */
async function readMedications(wanted: readonly string[], request: HookRequest, source: FhirSource | undefined): Promise<{ read: Resource[]; unread: UnavailableKey[] }> {
  const unread: UnavailableKey[] = wanted.slice(MAX_MEDICATION_READS).map((key) => ({ key, reason: `not read: the service reads at most ${MAX_MEDICATION_READS} Medications per call` }));
  const toRead = wanted.slice(0, MAX_MEDICATION_READS);
  if (!source) return { read: [], unread: [...toRead.map((key) => ({ key, reason: `not sent, and ${noSourceReason(request)}` })), ...unread] };
  const settled = await Promise.allSettled(toRead.map((key) => readResource(key, 'Medication', source)));
  const read: Resource[] = [];
  settled.forEach((result, i) => {
    const key = toRead[i] as string;
    if (result.status === 'rejected') unread.push({ key, reason: result.reason instanceof FhirFetchError ? result.reason.message : 'it could not be read' });
    else if (result.value) read.push(result.value);
    else unread.push({ key, reason: 'the fhirServer has no such Medication' });
  });
  return { read, unread };
}

/** What the record holds, by `Type/<id>`. Built only when orders are named: over 10,000 resources it costs 1.5 ms. */
const byReference = (resources: Readonly<Record<string, readonly Resource[]>>): Map<string, Resource> => resourcesByReference(Object.values(resources).flat());

/**
 * The orders a call names by reference: order-dispatch's, and the ServiceRequests appointment-book's Appointments are
 * based on (not contained in them). None on the other hooks.
 */
async function ordersNamed(request: HookRequest, resources: Readonly<Record<string, readonly Resource[]>>, source: () => FhirSource | undefined): Promise<Pick<AssembledData, 'dispatchedOrders' | 'appointmentOrders'>> {
  const { dispatchedOrders, appointments, patientId } = request.context;
  if (dispatchedOrders) {
    const named = dispatchedOrders.map((reference, i) => ({ reference, where: `context.dispatchedOrders[${String(i)}]` }));
    return { dispatchedOrders: await ordersByReference(named, byReference(resources), patientId, { get: source, unusable: noSourceReason(request), what: 'dispatched orders', notSent: 'no prefetch key holds it', sendInstead: 'in a prefetch key' }) };
  }
  // Places are the entries' as sent, so a problem names the entry it is about.
  const entries = (appointments?.entry ?? []).map((e) => e.resource);
  const named = appointmentOrderReferences(entries, request.fhirServer).map((ref) => ({
    reference: ref.key,
    where: `context.appointments.entry[${String(ref.appointment)}].resource.basedOn[${String(ref.basedOn)}]`,
  }));
  if (named.length === 0) return {};
  // A ServiceRequest sent beside its Appointment in the Bundle is held as a prefetched one is.
  const held = byReference(resources);
  for (const r of entries) if (r?.resourceType === 'ServiceRequest') held.set(referenceOf(r), r);
  return { appointmentOrders: await ordersByReference(named, held, patientId, {
    get: source,
    unusable: noSourceReason(request),
    what: 'ServiceRequests of the appointments',
    notSent: 'not contained in the Appointment, beside it in the Bundle or in a prefetch key',
    sendInstead: 'contained in their Appointments',
  }) };
}

/**
 * encounter-start: the parts the Encounter names, best effort: one that cannot be had, or that is another patient's,
 * is left out (the read is in the call's record of reads), and the visit is judged by what it says itself.
 */
async function encounterParts(request: HookRequest, resources: Readonly<Record<string, readonly Resource[]>>, source: () => FhirSource | undefined): Promise<Pick<AssembledData, 'encounterParts'>> {
  const encounter = (resources[ENCOUNTER_KEY] ?? []).find((r) => r.resourceType === 'Encounter' && r.id === request.context.encounterId);
  const keys = encounter ? encounterPartReferences(encounter, request.fhirServer) : [];
  if (keys.length === 0) return {};
  const held = byReference(resources);
  const settled = await Promise.allSettled(keys.map(async (key) => {
    const have = held.get(key);
    if (have) return have;
    const from = source();
    return from ? readResource(key, key.split('/')[0] ?? '', from) : null;
  }));
  const parts = settled.flatMap((r) => (r.status === 'fulfilled' && r.value && !otherPatientOf(r.value, request.context.patientId) ? [r.value] : []));
  return parts.length > 0 ? { encounterParts: parts } : {};
}

/**
 * Gathers the data of every declared prefetch key for one request, and the Medications they and the draft orders
 * (or the dispatched orders) reference.
 * @param service - the service called (declares the keys).
 * @param request - the checked request.
 * @param options - deadline and fhirServer policy.
 * @returns the data per key, the optional keys that could not be had, and the referenced Medications.
 * @throws HttpError 412 naming each required key that could not be had.
 */
export async function assembleData(service: ServiceDefinition, request: HookRequest, options: AssembleOptions): Promise<AssembledData> {
  const source = lazySource(request, options);
  try {
    const settled = await Promise.allSettled(service.prefetch.map((p) => resolveKey(p, request, source.get)));
    const resources: Record<string, readonly Resource[]> = {};
    const included: Resource[] = [];
    const unavailable: UnavailableKey[] = [];
    const problems: Problem[] = [];
    settled.forEach((result, i) => {
      const p = service.prefetch[i] as PrefetchKey;
      if (result.status === 'fulfilled') {
        resources[p.key] = result.value.matches;
        included.push(...result.value.medications);
        return;
      }
      const err: unknown = result.reason;
      const reason = err instanceof FhirFetchError ? err.message : 'the data could not be read';
      if (p.required) {
        const code = err instanceof FhirFetchError && err.code === 'timeout' ? 'timeout' : 'incomplete';
        problems.push({ code, expression: `prefetch.${p.key}`, message: `${p.key} (${p.parsed.template}) is needed: ${reason}` });
      } else {
        unavailable.push({ key: p.key, reason });
      }
    });
    if (problems.length > 0) throw preconditionFailed(problems);
    const orders = { ...(await ordersNamed(request, resources, source.get)), ...(service.hook === 'encounter-start' ? await encounterParts(request, resources, source.get) : {}) };
    const drafts = orders.dispatchedOrders ?? (request.context.draftOrders?.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
    const known = medicationsByKey([...drafts, ...included]);
    const wanted = missingMedications([...drafts, ...Object.values(resources).flat()], known, request.fhirServer);
    if (wanted.length === 0) return { resources, unavailable, ...(included.length > 0 ? { medications: included } : {}), ...orders };
    const { read, unread } = await readMedications(wanted, request, source.get());
    return { resources, unavailable, medications: [...included, ...read], unreadMedications: unread, ...orders };
  } finally {
    source.close();
  }
}
