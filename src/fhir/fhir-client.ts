/**
 * Reads from a client's FHIR server on behalf of one hook request: no redirects, one abort signal for the
 * request's deadline, the access token sent to that server only, paging bounded.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { noteRead } from './fhir-reads.js';
import { isResource } from './json.js';
import type { FhirRead, FhirReads } from './fhir-reads.js';
import { GetError, getText } from './http-get.js';
import type { GetFailure } from './http-get.js';

/** Why a FHIR read failed, in words fit for an OperationOutcome (never the token, never the body). */
export class FhirFetchError extends Error {
  constructor(
    message: string,
    readonly code: 'timeout' | 'exception' | 'structure' | 'security' = 'exception',
    readonly status?: number
  ) {
    super(message);
    this.name = 'FhirFetchError';
  }
}

/** Where and how to read. */
export interface FhirSource {
  /** Base URL without trailing slash. */
  readonly baseUrl: string;
  /** Bearer token for that server, if the client gave one. */
  readonly accessToken?: string;
  /** Aborts every call when the request's deadline passes, or its caller leaves (reason CALLER_GONE). */
  readonly signal: AbortSignal;
  /** Timeout of each single call. */
  readonly callTimeoutMs: number;
  /** Where each GET is noted as it ends (for the audit log), when the caller keeps them. */
  readonly reads?: FhirReads;
}

/** Bounds on what one search may bring back. */
const MAX_PAGES = 50;
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** A failed GET in words fit for an OperationOutcome. */
function fetchError(failure: GetFailure): FhirFetchError {
  switch (failure.kind) {
    case 'deadline':
      return new FhirFetchError('FHIR server did not answer in time (request deadline)', 'timeout');
    case 'caller-gone':
      return new FhirFetchError('not read: the caller of the hook closed its connection before the answer');
    case 'call-timeout':
      return new FhirFetchError(`FHIR server did not answer in time (${failure.ms} ms call timeout)`, 'timeout');
    case 'unreachable':
      return new FhirFetchError(`FHIR server could not be reached (${failure.cause})`);
    case 'redirect':
      return new FhirFetchError(`FHIR server answered with a redirect (${failure.status}), which is not followed`, 'security');
    case 'status':
      return new FhirFetchError(`FHIR server answered HTTP ${failure.status}`, 'exception', failure.status);
    case 'too-large':
      return new FhirFetchError('FHIR server response is too large', 'structure');
    case 'unreadable':
      return new FhirFetchError(`FHIR server response could not be read (${failure.cause})`);
  }
}

async function getJson(url: string, source: FhirSource): Promise<Resource> {
  const started = performance.now();
  let read: Omit<FhirRead, 'url' | 'ms'> | undefined;
  try {
    const { json, text } = await getParsed(url, source);
    if (!isResource(json)) {
      read = { status: 200, text, error: NOT_A_RESOURCE };
      throw new FhirFetchError(NOT_A_RESOURCE, 'structure');
    }
    read = { status: 200, text };
    return json;
  } catch (err) {
    read ??= err instanceof FhirFetchError ? { ...(err.status === undefined ? {} : { status: err.status }), error: err.message } : { error: 'the read failed' };
    throw err;
  } finally {
    if (source.reads) noteRead(source.reads, { url, ms: Math.round((performance.now() - started) * 100) / 100, ...read });
  }
}

const NOT_A_RESOURCE = 'FHIR server answered with something that is not a FHIR resource';

/** GETs a URL and parses its body as JSON; the text is kept beside it for the audit log. */
async function getParsed(url: string, source: FhirSource): Promise<{ json: unknown; text: string }> {
  const headers: Record<string, string> = { Accept: 'application/fhir+json, application/json' };
  if (source.accessToken) headers['Authorization'] = `Bearer ${source.accessToken}`;
  let text: string;
  try {
    text = await getText(url, { headers, deadline: source.signal, timeoutMs: source.callTimeoutMs, maxBytes: MAX_RESPONSE_BYTES });
  } catch (err) {
    if (err instanceof GetError) throw fetchError(err.failure);
    throw err;
  }
  try {
    return { json: JSON.parse(text) as unknown, text };
  } catch {
    throw new FhirFetchError('FHIR server answered with malformed JSON', 'structure');
  }
}

/**
 * Reads one resource (`Type/id`). A 404 is "no such resource", not an error.
 * @param relative - the filled prefetch query.
 * @param resourceType - the type expected.
 * @param source - where and how to read.
 * @returns the resource, or null when the server has none.
 */
export async function readResource(relative: string, resourceType: string, source: FhirSource): Promise<Resource | null> {
  let resource: Resource;
  try {
    resource = await getJson(`${source.baseUrl}/${relative}`, source);
  } catch (err) {
    if (err instanceof FhirFetchError && (err.status === 404 || err.status === 410)) return null;
    throw err;
  }
  if (resource.resourceType !== resourceType) {
    throw new FhirFetchError(`FHIR server answered ${resource.resourceType} where ${resourceType} was expected`, 'structure');
  }
  return resource;
}

/** What a search brought back: its matches, and the Medications the server (or client) included beside them. */
export interface SearchResult {
  readonly matches: Resource[];
  /** Medications among the other entries (`_include=MedicationRequest:medication`, or a client that adds them). */
  readonly medications: Resource[];
}

/**
 * The entries of one Bundle page: those of the type searched for, and the Medications included beside them; other
 * entries (outcomes, other includes) are left out.
 * @param page - a searchset page or a prefetched Bundle.
 * @param resourceType - the type searched for.
 * @returns the page's matches and Medications.
 */
export function splitEntries(page: Bundle, resourceType: string): SearchResult {
  const matches: Resource[] = [];
  const medications: Resource[] = [];
  for (const entry of page.entry ?? []) {
    const type = entry.resource?.resourceType;
    if (type === resourceType) matches.push(entry.resource as Resource);
    else if (type === 'Medication') medications.push(entry.resource);
  }
  return { matches, medications };
}

/**
 * Collects the resources of one Bundle, then follows its `next` links on the same server.
 * @param first - the first page (a prefetched Bundle, or one just read).
 * @param resourceType - the type searched for; other entries are left out, but for included Medications.
 * @param source - where next pages are read; without it only the first page is used.
 * @returns the matches of every page, and the Medications included.
 */
export async function collectPages(first: Bundle, resourceType: string, source: FhirSource | undefined): Promise<SearchResult> {
  const matches: Resource[] = [];
  const medications: Resource[] = [];
  let page: Bundle | undefined = first;
  for (let n = 1; page; n++) {
    const split = splitEntries(page, resourceType);
    matches.push(...split.matches);
    medications.push(...split.medications);
    const next = page.link?.find((l) => l.relation === 'next')?.url;
    if (!next || !source) break;
    if (n >= MAX_PAGES) throw new FhirFetchError(`FHIR server returned more than ${MAX_PAGES} pages`, 'structure');
    if (!next.startsWith(`${source.baseUrl}/`) && !next.startsWith(`${source.baseUrl}?`)) {
      throw new FhirFetchError('FHIR server sent a next link to another server, which is not followed', 'security');
    }
    const answer = await getJson(next, source);
    if (answer.resourceType !== 'Bundle') throw new FhirFetchError('FHIR server answered a page that is not a Bundle', 'structure');
    page = answer;
  }
  return { matches, medications };
}

/**
 * Runs a search and reads every page.
 * @param relative - the filled prefetch query.
 * @param resourceType - the type searched for.
 * @param source - where and how to read.
 * @returns the matching resources, and the Medications included.
 */
export async function search(relative: string, resourceType: string, source: FhirSource): Promise<SearchResult> {
  const bundle = await getJson(`${source.baseUrl}/${relative}`, source);
  if (bundle.resourceType !== 'Bundle') {
    throw new FhirFetchError(`FHIR server answered ${bundle.resourceType} where a Bundle was expected`, 'structure');
  }
  if (bundle.type !== undefined && bundle.type !== 'searchset' && bundle.type !== 'collection') {
    throw new FhirFetchError(`FHIR server answered a Bundle of type ${bundle.type} where a searchset was expected`, 'structure');
  }
  return collectPages(bundle, resourceType, source);
}
