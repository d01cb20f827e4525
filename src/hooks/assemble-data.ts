/**
 * Data assembly: for every declared prefetch key, use what the client sent, or read it from the client's
 * fhirServer; all reads in parallel under one deadline. Required keys that cannot be had end the request
 * with 412 naming each key; optional ones are reported as unavailable so the guidance can say so.
 */
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { collectPages, FhirFetchError, readResource, search } from '../fhir/fhir-client.js';
import type { FhirSource } from '../fhir/fhir-client.js';
import { preconditionFailed } from '../http/outcomes.js';
import type { Problem } from '../http/outcomes.js';
import type { PrefetchKey, ServiceDefinition } from '../services/service-definitions.js';
import { fillTemplate } from './prefetch-template.js';
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
}

/** Options of one assembly. */
export interface AssembleOptions {
  /** One deadline for every FHIR call of this request. */
  readonly deadlineMs: number;
  /** Timeout of each single FHIR call (defaults to the deadline). */
  readonly callTimeoutMs?: number;
  /** Decides whether the service may contact this fhirServer; false means "treat as absent". */
  readonly mayContact?: (fhirServer: string) => boolean;
}

function outcomeText(outcome: OperationOutcome): string {
  const first = outcome.issue?.[0];
  return first?.details?.text ?? first?.diagnostics ?? first?.code ?? 'an error';
}

async function fetchKey(p: PrefetchKey, relative: string, source: FhirSource): Promise<Resource[]> {
  if (p.parsed.kind === 'read') {
    const resource = await readResource(relative, p.parsed.resourceType, source);
    return resource ? [resource] : [];
  }
  return search(relative, p.parsed.resourceType, source);
}

async function resolveKey(p: PrefetchKey, request: HookRequest, source: FhirSource | undefined): Promise<Resource[]> {
  const value = request.prefetch[p.key];
  // null: the client looked and found nothing; do not ask again.
  if (value === null) return [];
  if (value?.resourceType === 'OperationOutcome') {
    throw new FhirFetchError(`the client's prefetch reported ${outcomeText(value)}`);
  }
  if (value !== undefined) {
    return value.resourceType === 'Bundle' ? collectPages(value, p.parsed.resourceType, source) : [value];
  }
  const relative = fillTemplate(p.parsed, request.context);
  if (relative === undefined) throw new FhirFetchError('not prefetched, and the request lacks a value its query needs');
  if (!source) {
    throw new FhirFetchError(request.fhirServer ? 'not prefetched, and the fhirServer is not one this caller may have the service contact' : 'not prefetched, and the request names no fhirServer');
  }
  return fetchKey(p, relative, source);
}

/**
 * Gathers the data of every declared prefetch key for one request.
 * @param service - the service called (declares the keys).
 * @param request - the checked request.
 * @param options - deadline and fhirServer policy.
 * @returns the data per key and the optional keys that could not be had.
 * @throws HttpError 412 naming each required key that could not be had.
 */
export async function assembleData(service: ServiceDefinition, request: HookRequest, options: AssembleOptions): Promise<AssembledData> {
  // The deadline's timer is only started when some key has to be read, and is cleared once every read has settled:
  // a timer left running fires long after the answer and builds an abort error for nobody (AbortSignal.timeout
  // cannot be cleared).
  const toRead = service.prefetch.some((p) => request.prefetch[p.key] === undefined);
  const usable = toRead && request.fhirServer !== undefined && (options.mayContact?.(request.fhirServer) ?? true);
  const deadline = usable ? new AbortController() : undefined;
  const timer = deadline ? setTimeout(() => deadline.abort(), options.deadlineMs) : undefined;
  const source: FhirSource | undefined = deadline
    ? {
        baseUrl: request.fhirServer as string,
        signal: deadline.signal,
        callTimeoutMs: options.callTimeoutMs ?? options.deadlineMs,
        ...(request.fhirAuthorization ? { accessToken: request.fhirAuthorization.access_token } : {}),
      }
    : undefined;
  const settled = await Promise.allSettled(service.prefetch.map((p) => resolveKey(p, request, source)));
  clearTimeout(timer);
  const resources: Record<string, readonly Resource[]> = {};
  const unavailable: UnavailableKey[] = [];
  const problems: Problem[] = [];
  settled.forEach((result, i) => {
    const p = service.prefetch[i] as PrefetchKey;
    if (result.status === 'fulfilled') {
      resources[p.key] = result.value;
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
  return { resources, unavailable };
}
