/**
 * The audit log Da Vinci CRD asks of a server (STU 2, foundation "additional considerations"): every hook
 * invocation and what was answered, kept for disputes, and every read of that log. It holds patient data, so it
 * lives in its own SQLite file (AUDIT_STORE_PATH, created readable by its owner only), or with DATABASE_URL in the
 * shared PostgreSQL database (postgres-audit-store.ts), and is read only through the authenticated, logged endpoint
 * in src/audit/. Bodies are stored as Brotli-compressed JSON at quality 0 (about a
 * fifth of their size, for a third of the CPU gzip's fastest level took); rows older than the retention period are
 * pruned.
 */
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { Logger } from '../log.js';
import { invocationsQuery, readsQuery } from './audit-query.js';
import type { Dialect } from './audit-query.js';
import { inSqliteTransaction, onEventLoop } from './database.js';
import { addFetched, indexInvocations } from './sqlite-audit-upgrades.js';
import { inTurns, mapInTurns } from './in-turns.js';

/** One hook invocation as it is recorded. */
export interface InvocationRecord {
  readonly receivedAt: Date;
  readonly requestId: string;
  readonly serviceId: string;
  /** `hook` and `hookInstance` of the body, when it had them. */
  readonly hook?: string;
  readonly hookInstance?: string;
  /** `context.patientId` of the body, when it had one. */
  readonly patientId?: string;
  /** The JWT issuer of the caller, or `unauthenticated` (development). */
  readonly client: string;
  /** The HTTP status sent; null when the connection closed before any answer. */
  readonly status: number | null;
  readonly ms: number;
  /** The rule packs that answered (`id@version`, comma-separated, with the deployment's thresholds: reload/current-rules.ts). */
  readonly packs: string;
  /** Whether the whole answer reached the caller (false when the connection closed first). */
  readonly delivered: boolean;
  /**
   * The request body as JSON text without its tokens: the bytes as received (UTF-8) when they carry none, else the
   * parsed body re-serialized with them removed. Absent when the body could not be read (the response says why).
   */
  readonly request?: string | Uint8Array;
  /** The response body as sent; absent when none was sent. */
  readonly response?: string;
  /** What the service read from the request's fhirServer, as JSON text (src/fhir/fhir-reads.ts); absent when nothing. */
  readonly fetched?: string;
}

/** A stored invocation, as an authorized reader sees it. */
export interface StoredInvocation {
  readonly id: number;
  readonly receivedAt: string;
  readonly requestId: string;
  readonly serviceId: string;
  readonly hook: string | null;
  readonly hookInstance: string | null;
  readonly patientId: string | null;
  readonly client: string;
  readonly status: number | null;
  readonly ms: number;
  readonly packs: string;
  readonly delivered: boolean;
  readonly request: unknown;
  readonly response: unknown;
  /** What the service read from the EHR for the call (`{fhirServer, reads}`), or null when it read nothing. */
  readonly fetched: unknown;
}

/**
 * Where a page of the log starts: after the last row of the previous page, its time (when received or read) and id.
 * Pages go by time and then id, newest first, so rows written late (by another instance's writer, or copied from a
 * SQLite file with `npm run store:copy`) still stand where their time puts them.
 */
export interface PageCursor {
  readonly at: Date;
  readonly id: number;
}

/** Which invocations to read; every given field must match. Newest first. */
export interface InvocationFilter {
  readonly patientId?: string;
  readonly hookInstance?: string;
  readonly requestId?: string;
  readonly serviceId?: string;
  /** Received at or after. */
  readonly since?: Date;
  /** Received before. */
  readonly until?: Date;
  /** Only rows after this one, newest first (the previous page's last). */
  readonly before?: PageCursor;
  readonly limit: number;
}

/** One read of the audit log, allowed or refused. */
export interface AuditRead {
  readonly at: Date;
  /** The reader's configured name; absent when the caller was not a reader. */
  readonly reader?: string;
  readonly address: string;
  readonly outcome: 'allowed' | 'refused' | 'invalid';
  /** What was asked: the path and its query parameters. */
  readonly query: string;
  readonly rows: number;
}

/** A stored read of the audit log. */
export interface StoredRead {
  readonly id: number;
  readonly at: string;
  readonly reader: string | null;
  readonly address: string;
  readonly outcome: AuditRead['outcome'];
  readonly query: string;
  readonly rows: number;
}

/** Which reads of the log to list; every given field must match. Newest first. */
export interface ReadFilter {
  readonly reader?: string;
  /** Read at or after. */
  readonly since?: Date;
  /** Read before. */
  readonly until?: Date;
  readonly before?: PageCursor;
  readonly limit: number;
}

/**
 * Where hook invocations and reads of them are kept: a SQLite file of this machine's (AUDIT_STORE_PATH), or the
 * shared PostgreSQL database (DATABASE_URL, see postgres-audit-store.ts). Promises, as PostgreSQL's must be; a
 * failure rejects.
 */
export interface AuditStore {
  record(entry: InvocationRecord): Promise<void>;
  /** Writes several invocations in one transaction, all of them or none (a writer's batch, a chunk of the spool). */
  recordAll(entries: readonly InvocationRecord[]): Promise<void>;
  search(filter: InvocationFilter): Promise<StoredInvocation[]>;
  recordRead(read: AuditRead): Promise<void>;
  /** Reads of the log, newest first. */
  reads(filter: ReadFilter): Promise<StoredRead[]>;
  /**
   * Deletes invocations and reads recorded before a time.
   * @returns how many rows were deleted.
   */
  prune(before: Date): Promise<number>;
}

/** A row of `hook_invocation` as SQLite returns it. */
export interface InvocationRow {
  id: number;
  received_at: string;
  request_id: string;
  service_id: string;
  hook: string | null;
  hook_instance: string | null;
  patient_id: string | null;
  client: string;
  status: number | null;
  ms: number;
  packs: string;
  delivered: number;
  request: Uint8Array | null;
  response: Uint8Array | null;
  /** Null in rows written before session 37 and when nothing was read. */
  fetched: Uint8Array | null;
}

/**
 * Inserts one invocation. Its parameters are `invocationValues`, with the last three (the bodies) Brotli-compressed;
 * shared with the audit writer's worker thread, which runs the same statement.
 */
export const INSERT_INVOCATION = `INSERT INTO hook_invocation
  (received_at, request_id, service_id, hook, hook_instance, patient_id, client, status, ms, packs, delivered, request, response, fetched)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** The index of the request body among `invocationValues` (the response and what was read from the EHR follow it). */
export const BODIES = 11;

/**
 * A record's bodies, in column order (the last values of `invocationValues`, typed there): the request, the response,
 * what was read from the EHR. The writers compress, store and count them from here, so a body added to the record
 * is added here and to `invocationValues`, nowhere else.
 * @param e - the invocation.
 * @returns its bodies, absent ones undefined.
 */
export const bodiesOf = (e: InvocationRecord): readonly (string | Uint8Array | undefined)[] => [e.request, e.response, e.fetched];

/**
 * The bytes (or characters) of a record's bodies, as a writer's queue counts them.
 * @param e - the invocation.
 * @returns their total length.
 */
export const bodyBytes = (e: InvocationRecord): number => bodiesOf(e).reduce((sum: number, b) => sum + (b?.length ?? 0), 0);

/** The values of INSERT_INVOCATION, the bodies as JSON text (not yet compressed). */
export type InvocationValues = [string, string, string, string | null, string | null, string | null, string, number | null, number, string, number, string | Uint8Array | null, string | null, string | null];

/**
 * An invocation as the values of INSERT_INVOCATION, its bodies as text: cheap to build, and to post to a worker.
 * @param e - the invocation.
 * @returns the values, in column order.
 */
export function invocationValues(e: InvocationRecord): InvocationValues {
  return [
    e.receivedAt.toISOString(), e.requestId, e.serviceId, e.hook ?? null, e.hookInstance ?? null, e.patientId ?? null,
    e.client, e.status, e.ms, e.packs, e.delivered ? 1 : 0,
    e.request ?? null, e.response ?? null, e.fetched ?? null,
  ];
}

/** How bodies are compressed, here, in the writer's worker and for PostgreSQL: Brotli at its fastest quality. */
export const BROTLI_OPTIONS = { params: { [constants.BROTLI_PARAM_QUALITY]: 0 } };

/**
 * A body as it is stored (SQLite here, PostgreSQL through body-compressor.ts).
 * @param body - the bytes received or the answer's text; absent when there was none.
 * @returns the compressed bytes, or null.
 */
export function packBody(body: string | Uint8Array | undefined): Buffer | null {
  return body === undefined ? null : brotliCompressSync(body, BROTLI_OPTIONS);
}

/** A record as the values of INSERT_INVOCATION, its bodies compressed. */
const rowOf = (e: InvocationRecord): SQLInputValue[] => [...invocationValues(e).slice(0, BODIES), ...bodiesOf(e).map(packBody)] as SQLInputValue[];

/** The columns of `audit_read` besides its id, in the order of a read's values (both databases). */
export const READ_COLUMNS = ['at', 'reader', 'address', 'outcome', 'query', 'rows'] as const;

/** A stored body as a reader sees it: parsed JSON, or the text when it is not JSON. */
function unpack(blob: Uint8Array | null): unknown {
  if (blob === null) return null;
  const text = brotliDecompressSync(blob).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * A stored row as a reader sees it, its bodies decompressed and parsed.
 * @param r - the row, as SQLite returns it.
 * @returns the invocation.
 */
export function fromInvocationRow(r: InvocationRow): StoredInvocation {
  return {
    id: r.id,
    receivedAt: r.received_at,
    requestId: r.request_id,
    serviceId: r.service_id,
    hook: r.hook,
    hookInstance: r.hook_instance,
    patientId: r.patient_id,
    client: r.client,
    status: r.status,
    ms: r.ms,
    packs: r.packs,
    delivered: r.delivered === 1,
    request: unpack(r.request),
    response: unpack(r.response),
    fetched: unpack(r.fetched),
  };
}

/**
 * Rows deleted per statement when pruning, each its own transaction, in turns of the event loop: one statement for a
 * six-hour prune of 25,000 seed-sized calls held the loop 0.9 s; chunks of 50 take 0.2 ms at the median and 4.5 ms
 * at the longest (session 32, by hand), plus the WAL checkpoint SQLite runs every 1,000 pages written (20-30 ms).
 */
const PRUNE_CHUNK = 50;

/** How SQLite takes a value: times as the ISO text they are stored as. */
export const SQLITE_DIALECT: Dialect = { placeholder: () => '?', text: (v) => v, time: (d) => d.toISOString() };

/**
 * The audit store in a database (its tables and indexes are created when missing).
 * @param db - the open audit database.
 * @param log - where a first indexing of an existing log is announced, and a lock that outlasts the store's short wait.
 * @returns the store.
 */
export function auditStore(db: DatabaseSync, log?: Pick<Logger, 'info' | 'warn'>): AuditStore {
  db.exec(`CREATE TABLE IF NOT EXISTS hook_invocation (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    request_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    hook TEXT,
    hook_instance TEXT,
    patient_id TEXT,
    client TEXT NOT NULL,
    status INTEGER,
    ms REAL NOT NULL,
    packs TEXT NOT NULL,
    delivered INTEGER NOT NULL CHECK (delivered IN (0, 1)),
    request BLOB,
    response BLOB,
    fetched BLOB
  )`);
  addFetched(db);
  indexInvocations(db, log);
  db.exec(`CREATE TABLE IF NOT EXISTS audit_read (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    reader TEXT,
    address TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('allowed', 'refused', 'invalid')),
    query TEXT NOT NULL,
    rows INTEGER NOT NULL
  )`);
  db.exec('CREATE INDEX IF NOT EXISTS audit_read_at ON audit_read (at)');
  // Staff reads and their records, and the rare write on the request thread, run on the event loop; the worker's
  // own transactions last milliseconds.
  const attempt = onEventLoop(db, 'AUDIT_STORE_PATH', log);
  const insert = db.prepare(INSERT_INVOCATION);
  const insertRead = db.prepare(`INSERT INTO audit_read (${READ_COLUMNS.join(', ')}) VALUES (${READ_COLUMNS.map(() => '?').join(', ')})`);
  const prunes = [
    db.prepare(`DELETE FROM hook_invocation WHERE id IN (SELECT id FROM hook_invocation WHERE received_at < ? LIMIT ${String(PRUNE_CHUNK)})`),
    db.prepare(`DELETE FROM audit_read WHERE id IN (SELECT id FROM audit_read WHERE at < ? LIMIT ${String(PRUNE_CHUNK)})`),
  ];
  return {
    record: (e) => attempt(() => {
      insert.run(...rowOf(e));
    }),
    recordAll: async (entries) => {
      // A spool chunk is 200 records: compressed in turns, then inserted together.
      const rows = await mapInTurns(entries, rowOf);
      await attempt(() => inSqliteTransaction(db, () => {
        for (const row of rows) insert.run(...row);
      }));
    },
    search: async (f) => {
      const q = invocationsQuery(f, SQLITE_DIALECT);
      const rows = await attempt(() => db.prepare(q.sql).all(...(q.values as SQLInputValue[])) as unknown as InvocationRow[]);
      // Unpacking a page of 200 seed-sized calls takes tens of ms: in turns, so hook calls are answered meanwhile.
      return mapInTurns(rows, fromInvocationRow);
    },
    recordRead: (r) => attempt(() => {
      insertRead.run(r.at.toISOString(), r.reader ?? null, r.address, r.outcome, r.query, r.rows);
    }),
    reads: (f) => attempt(() => {
      const q = readsQuery(f, SQLITE_DIALECT);
      return db.prepare(q.sql).all(...(q.values as SQLInputValue[])) as unknown as StoredRead[];
    }),
    prune: async (before) => {
      const at = before.toISOString();
      let deleted = 0;
      for (const prune of prunes) {
        await inTurns(() => {
          const changes = Number(prune.run(at).changes);
          deleted += changes;
          return changes < PRUNE_CHUNK;
        });
      }
      return deleted;
    },
  };
}
