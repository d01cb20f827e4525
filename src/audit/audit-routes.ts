/**
 * Reading the audit log over HTTP, for the staff named in AUDIT_READERS_FILE (CRD: logs "accessed by appropriate
 * authorized users", access "restricted" and itself "logged"). Mounted at `/audit`:
 *
 * - `GET /audit/hook-invocations`: recorded invocations, newest first (by when received, then by id), filtered by
 *   `patient`, `hookInstance`, `requestId`, `service`, `since`, `until`; paged by `_count` (1-200, 50 by default)
 *   and the `before` cursor the previous page's `next` link carries. Each call with what the service read from the
 *   EHR for it (`fetched`) and the feedback on its cards.
 * - `GET /audit/AuditEvent`: the same calls, filters and paging, as FHIR R4 AuditEvents in a searchset Bundle
 *   (audit-event.ts), for a hospital's audit repository; also by FHIR search's `date` and `patient` (fhir-search.ts).
 * - `GET /audit/reads`: the reads of the log itself, filtered by `reader`, `since` and `until`, paged the same way;
 *   `GET /audit/reads/AuditEvent` the same as AuditEvents, also by FHIR search's `date`.
 * - `GET /audit/`: a page for staff that reads the first with the token they type in (static/index.html).
 *
 * A refused token counts toward the caller's address's AUTH_FAILURES_PER_MINUTE, the same bucket as the hook calls'
 * refused JWTs; past it the address gets 429 before its token is looked at. Every other attempt is recorded in the
 * store with the reader's name (or none), the caller's address, the query and the number of rows; the service log
 * gets one line with the reader and the parameters' names, never their values. Answers are `Cache-Control: no-store`.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { AuditEvent } from '@medplum/fhirtypes';
import type { Request, Response, Router } from 'express';
import { badRequest, methodNotAllowed, notFound, unauthorized } from '../http/outcomes.js';
import type { Problem } from '../http/outcomes.js';
import type { Logger } from '../log.js';
import { bearerToken } from '../security/authenticate.js';
import type { FailedAuthentications } from '../security/failed-authentications.js';
import type { AuditRead, AuditStore, PageCursor, StoredInvocation, StoredRead } from '../store/audit-store.js';
import type { FeedbackStore, StoredFeedback } from '../store/feedback-store.js';
import type { AuditWriter } from './audit-writer.js';
import { answeredCards } from './feedback-report.js';
import { optional } from './optional.js';
import { readerFor } from './readers.js';
import { auditEventOf, readAuditEventOf } from './audit-event.js';
import { dateSearchRange, narrowed, patientSearchId } from './fhir-search.js';
import type { TimeRange } from './fhir-search.js';
import { sendBundle, sendPage } from './send-page.js';
import type { CurrentReaders } from './readers.js';

/** What the audit routes need. */
export interface AuditRoutesDeps {
  readonly store: AuditStore;
  /** The feedback on the cards, shown beside each call. */
  readonly feedback: FeedbackStore;
  /** Awaited before each read, so a read sees every call answered before it. */
  readonly writer: AuditWriter;
  /** The configured readers as of each read; undefined when AUDIT_READERS_FILE is not set (nothing is readable). */
  readonly readers: CurrentReaders | undefined;
  /** The per-address limit on failed authentications, shared with the hook endpoints. */
  readonly failures: FailedAuthentications;
  readonly log: Logger;
  readonly clock: () => Date;
  /** Where this service answers (PUBLIC_BASE_URL): the AuditEvents name it, and their links start with it. */
  readonly publicBaseUrl: string;
}

const STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'static');
const DEFAULT_COUNT = 50;
const MAX_COUNT = 200;
/** A date (midnight UTC) or a date-time with seconds optional and a zone required. */
const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Query parameters, read one by one; every problem is collected, so one 400 names them all. */
class QueryReader {
  readonly problems: Problem[] = [];

  constructor(private readonly query: Record<string, unknown>, allowed: readonly string[]) {
    for (const name of Object.keys(query)) {
      if (!allowed.includes(name)) this.problems.push({ code: 'not-supported', message: `Unknown parameter ${name}; use ${allowed.join(', ')}`, expression: name });
    }
  }

  private raw(name: string): string | undefined {
    const value = this.query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '') {
      this.problems.push({ code: 'value', message: `${name} must be given once, with a value`, expression: name });
      return undefined;
    }
    return value;
  }

  text(name: string): string | undefined {
    return this.raw(name);
  }

  /** A parameter that may be given more than once (FHIR search repeats `date`), each time with a value. */
  repeated(name: string): string[] | undefined {
    const value = this.query[name];
    if (value === undefined) return undefined;
    const values: unknown[] = Array.isArray(value) ? value : [value];
    if (values.some((v) => typeof v !== 'string' || v === '')) {
      this.problems.push({ code: 'value', message: `${name} must have a value each time it is given`, expression: name });
      return undefined;
    }
    return values as string[];
  }

  /** Records a problem with a parameter's value found by the caller. */
  refuse(name: string, message: string): void {
    this.problems.push({ code: 'value', message, expression: name });
  }

  instant(name: string): Date | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const date = new Date(value);
    if (!INSTANT.test(value) || Number.isNaN(date.getTime())) {
      this.problems.push({ code: 'value', message: `${name} must be a date (2026-11-01) or a date-time with its zone (2026-11-01T08:00:00Z)`, expression: name });
      return undefined;
    }
    return date;
  }

  cursor(name: string): PageCursor | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const match = CURSOR.exec(value);
    const at = new Date(Number(match?.[1]));
    const id = Number(match?.[2]);
    if (match === null || Number.isNaN(at.getTime()) || !Number.isSafeInteger(id)) {
      this.problems.push({ code: 'value', message: `${name} must be the cursor a next link carries (time in ms, a dash, an id: 1795492266793-42)`, expression: name });
      return undefined;
    }
    return { at, id };
  }

  integer(name: string, min: number, max: number): number | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      this.problems.push({ code: 'value', message: `${name} must be a whole number from ${min} to ${max}`, expression: name });
      return undefined;
    }
    return n;
  }
}

/** A page cursor as the `before` parameter carries it: the row's time in milliseconds since 1970, a dash, its id. */
const CURSOR = /^(\d{1,15})-(\d{1,15})$/;

/** The next page's link: the same query with the last row's time and id as the cursor. */
function nextLink(req: Request, last: PageCursor | undefined): string | undefined {
  if (last === undefined) return undefined;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(req.query)) if (k !== 'before') for (const one of [v].flat()) if (typeof one === 'string') params.append(k, one);
  params.set('before', `${String(last.at.getTime())}-${String(last.id)}`);
  return `${req.baseUrl}${req.path}?${params.toString()}`;
}

/**
 * A time range narrowed by FHIR search's `date` (AuditEvent.recorded), as the AuditEvent routes take it beside the
 * log's own `since` and `until`; a value it cannot read is a problem of the query.
 */
function withinDates(q: QueryReader, own: TimeRange): TimeRange {
  const dates = q.repeated('date');
  const range = dates === undefined ? {} : dateSearchRange(dates);
  if (typeof range !== 'string') return narrowed(own, range);
  q.refuse('date', range);
  return own;
}

/** A recorded call with the feedback clinicians sent on its cards, when any. */
type InvocationWithFeedback = StoredInvocation & { readonly feedback?: readonly StoredFeedback[] };

/**
 * The calls, each with the feedback on its cards (accepted, overridden and why), so a dispute sees what was shown
 * and what the clinician did with it side by side. One query per page.
 */
async function withFeedback(rows: readonly StoredInvocation[], feedback: FeedbackStore): Promise<InvocationWithFeedback[]> {
  const cardsOf = (row: StoredInvocation): string[] => answeredCards(row).map((c) => c.uuid);
  const items = await feedback.forCards(rows.flatMap(cardsOf));
  if (items.length === 0) return [...rows];
  return rows.map((row) => {
    const own = new Set(cardsOf(row));
    const mine = items.filter((f) => own.has(f.card));
    return mine.length > 0 ? { ...row, feedback: mine } : row;
  });
}

/**
 * Builds the router mounted at `/audit`.
 * @param deps - store, readers, log and clock.
 * @returns the router.
 */
export function auditRoutes(deps: AuditRoutesDeps): Router {
  const router = express.Router();

  /**
   * Authenticates the reader, reads, and records the attempt whatever its outcome. `filters` are the endpoint's own
   * parameters; `_count` and the `before` cursor are every endpoint's.
   */
  type Send<T> = (req: Request, res: Response, rows: readonly T[], next: string | undefined) => Promise<void>;
  const asPage = <T>(_req: Request, res: Response, rows: readonly T[], next: string | undefined): Promise<void> => sendPage(res, rows, next);
  const read = <T extends { id: number }>(filters: readonly string[], timeOf: (row: T) => string, search: (q: QueryReader, page: { limit: number; before?: PageCursor }) => Promise<T[]>, send: Send<T> = asPage) => async (req: Request, res: Response): Promise<void> => {
    const readers = deps.readers?.();
    if (readers === undefined) throw notFound('The audit log is not readable over HTTP on this service: AUDIT_READERS_FILE is not configured');
    const address = req.ip ?? 'unknown';
    const refused = deps.failures.refusal(address);
    if (refused) throw refused;
    const token = bearerToken(req);
    const reader = token === undefined ? undefined : readerFor(readers, token);
    const requestId = res.locals['requestId'] as string;
    // Recorded before anything is answered: a read that cannot be recorded is not served (the store's fault answers).
    const attempt = async (outcome: AuditRead['outcome'], rows: number): Promise<void> => {
      deps.log[outcome === 'allowed' ? 'info' : 'warn']({ requestId, reader: reader?.name, path: req.path, params: Object.keys(req.query), outcome, rows }, 'audit log read');
      await deps.store.recordRead({ at: deps.clock(), ...(reader ? { reader: reader.name } : {}), address, outcome, query: req.originalUrl.slice(0, 2000), rows });
    };
    if (reader === undefined) {
      deps.failures.failed(address, requestId);
      await attempt('refused', 0);
      throw unauthorized();
    }
    const q = new QueryReader(req.query, [...filters, '_count', 'before']);
    const limit = q.integer('_count', 1, MAX_COUNT) ?? DEFAULT_COUNT;
    const page = { limit, ...optional('before', q.cursor('before')) };
    // A turn first: the record of a call whose caller left is handed over a turn after its connection closed.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await deps.writer.idle();
    const rows = await search(q, page);
    if (q.problems.length > 0) {
      await attempt('invalid', 0);
      throw badRequest(q.problems);
    }
    await attempt('allowed', rows.length);
    const last = rows.length < limit ? undefined : rows.at(-1);
    const next = nextLink(req, last && { at: new Date(timeOf(last)), id: last.id });
    await send(req, res, rows, next);
  };

  const CALL_FILTERS = ['patient', 'hookInstance', 'requestId', 'service', 'since', 'until'];
  const callFilter = (q: QueryReader) => ({
    ...optional('patientId', q.text('patient')),
    ...optional('hookInstance', q.text('hookInstance')),
    ...optional('requestId', q.text('requestId')),
    ...optional('serviceId', q.text('service')),
    ...optional('since', q.instant('since')),
    ...optional('until', q.instant('until')),
  });
  const searchCalls = (q: QueryReader, page: { limit: number; before?: PageCursor }): Promise<StoredInvocation[]> => {
    const filter = callFilter(q);
    return q.problems.length > 0 ? Promise.resolve([]) : deps.store.search({ ...filter, ...page });
  };
  router.get('/hook-invocations', read(CALL_FILTERS, (row: StoredInvocation) => row.receivedAt, (q, page) => searchCalls(q, page).then((rows) => withFeedback(rows, deps.feedback))));

  // Rows as FHIR R4 AuditEvents in a searchset Bundle (audit-event.ts), for a hospital's audit repository.
  const asAuditEvents =
    <T>(toEvent: (row: T, publicBaseUrl: string) => AuditEvent, path: string): Send<T> =>
    (req, res, rows, next) => {
      const url = (p: string): string => `${deps.publicBaseUrl}${p}`;
      const entries = rows.map((row) => {
        const resource = toEvent(row, deps.publicBaseUrl);
        return { fullUrl: url(`${req.baseUrl}${path}/${resource.id ?? ''}`), resource };
      });
      return sendBundle(res, entries, url(req.originalUrl), next === undefined ? undefined : url(next));
    };
  // FHIR search's own names too, as an audit repository sends them: `date` (recorded, with prefixes) and `patient` as
  // a reference (fhir-search.ts).
  const searchEvents = (q: QueryReader, page: { limit: number; before?: PageCursor }): Promise<StoredInvocation[]> => {
    const { patientId, since, until, ...rest } = callFilter(q);
    const id = patientId === undefined ? undefined : patientSearchId(patientId);
    if (patientId !== undefined && id === undefined) q.refuse('patient', `patient must be a Patient reference (Patient/it-seed-a, or an absolute one) or a patient id, not ${patientId}`);
    const filter = { ...rest, ...optional('patientId', id), ...withinDates(q, { ...optional('since', since), ...optional('until', until) }) };
    return q.problems.length > 0 ? Promise.resolve([]) : deps.store.search({ ...filter, ...page });
  };
  router.get('/AuditEvent', read([...CALL_FILTERS, 'date'], (row: StoredInvocation) => row.receivedAt, searchEvents, asAuditEvents(auditEventOf, '/AuditEvent')));

  const READ_FILTERS = ['reader', 'since', 'until'];
  const readsSearch = (fhir: boolean) => (q: QueryReader, page: { limit: number; before?: PageCursor }): Promise<StoredRead[]> => {
    const own = { ...optional('since', q.instant('since')), ...optional('until', q.instant('until')) };
    const filter = { ...optional('reader', q.text('reader')), ...(fhir ? withinDates(q, own) : own) };
    return q.problems.length > 0 ? Promise.resolve([]) : deps.store.reads({ ...filter, ...page });
  };
  router.get('/reads', read(READ_FILTERS, (row: StoredRead) => row.at, readsSearch(false)));
  // The reads of the log as AuditEvents too: reading patient data through /audit is itself an access to audit.
  router.get('/reads/AuditEvent', read([...READ_FILTERS, 'date'], (row: StoredRead) => row.at, readsSearch(true), asAuditEvents(readAuditEventOf, '/reads/AuditEvent')));

  router.all(['/hook-invocations', '/reads', '/reads/AuditEvent', '/AuditEvent'], () => {
    throw methodNotAllowed(['GET']);
  });
  // The page for staff: static, holding no data (it reads the API above with the token a person types in). Its
  // links are relative, so `/audit` is sent on to `/audit/`.
  router.get('/', (req, res, next) => {
    if (req.originalUrl.split('?')[0]?.endsWith('/')) next();
    else res.redirect(301, `${req.baseUrl}/`);
  });
  router.use(express.static(STATIC_DIR, { index: 'index.html', redirect: false, setHeaders: (res) => res.set('Cache-Control', 'no-cache') }));
  return router;
}
