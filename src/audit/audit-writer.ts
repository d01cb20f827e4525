/**
 * Writes audit records off the request thread. Compressing (with gzip, then) and inserting a seed's call and answer
 * took about 0.3 ms of the event loop, and the service fell from 825 to 560 req/s on seed A with the writes inline;
 * here the request thread only builds the row's values (the bodies as JSON text or the bytes received) and posts
 * them to a worker thread, which compresses them (Brotli, quality 0) and inserts a batch per transaction in its own
 * connection to the audit file.
 *
 * - `idle()` settles once everything posted before it is written (or has failed and been logged): a reader of the
 *   log sees every call answered before the read, however busy the service.
 * - `close()` waits for the worker to write what it holds, so a stopping service loses nothing.
 * - A write the file refuses for a while (locked past the busy timeout by a VACUUM or another process's long write,
 *   a full disk, an I/O error) is tried again after each of RETRY_DELAYS_MS, the records after it waiting behind it;
 *   meanwhile `idle()` settles at once (a reader is not held for it) and, past MAX_QUEUED_BYTES, a new record is
 *   not kept (logged with its request id), so the service goes on answering. A write that still fails, or fails
 *   for good (no such table), is logged with its request ids.
 * - If the worker itself dies, the rows it held are logged as lost and later rows are written on the request
 *   thread, as they are for an in-memory log (`:memory:` is one connection's own database, which a worker cannot
 *   share) and while the worker is MAX_QUEUED_BYTES behind with every core busy.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import { BODIES, bodyBytes, INSERT_INVOCATION, invocationValues } from '../store/audit-store.js';
import type { AuditStore, InvocationRecord, InvocationValues } from '../store/audit-store.js';

/** Where the request path hands its audit records. */
export interface AuditWriter {
  /** Queues one record; never throws (a failure is logged). */
  record(entry: InvocationRecord): void;
  /** Settles when every record queued so far is written or has failed. */
  idle(): Promise<void>;
  /** Writes what is queued and stops the worker. */
  close(): Promise<void>;
  /** What a monitor reads in /healthz: whether records are being lost or wait for the database. */
  state(): AuditWriterState;
}

/** The audit writer's state, as /healthz reports it. */
export interface AuditWriterState {
  /** Records this process gave up on since it started (each logged with its request id as not written). */
  readonly notWritten: number;
  /** Whether a refused write waits to be tried again (the database or the file is away). */
  readonly retrying: boolean;
  /** With a spool (PostgreSQL): the bytes of records on this machine's disk waiting for the database, all processes'. */
  readonly spoolBytes?: number;
}

/**
 * The most body bytes queued for the worker. Past it, records are written on the request thread, so a worker that
 * falls behind (a slow disk, every core busy) slows the service down instead of letting its queue grow unbounded.
 */
export const MAX_QUEUED_BYTES = 64 * 1024 * 1024;

/**
 * Waits before each new attempt at a batch that was refused: about half a minute in all, for a PostgreSQL restart or
 * failover, or a SQLite file locked or full for a while (each SQLite attempt also waits out its busy timeout).
 */
export const RETRY_DELAYS_MS: readonly number[] = [500, 1000, 2000, 4000, 8000, 16000];

/** SQLite's busy timeout in the worker: how long one attempt waits for a lock another connection holds. */
const BUSY_TIMEOUT_MS = 5000;

/** What the writer may be given besides its store, path and log (tests shorten the waits). */
export interface AuditWriterOptions {
  readonly retryDelaysMs?: readonly number[];
  readonly busyTimeoutMs?: number;
}

/** A message from the worker: a batch written, a batch that failed, or a batch waiting to be tried again. */
type Report = { readonly written: number } | { readonly failed: readonly string[]; readonly message: string } | { readonly retrying: string };

/**
 * The worker: plain CommonJS run with `eval`, so it needs no build step or loader (as the FHIR definitions worker).
 * Queues rows, then in the next turn compresses their bodies and inserts them in one transaction.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const { brotliCompressSync, constants } = require('node:zlib');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA busy_timeout = ' + workerData.busyTimeoutMs);
db.exec('PRAGMA synchronous = NORMAL');
const insert = db.prepare(workerData.sql);
const bodies = workerData.bodies;
const retryDelays = workerData.retryDelaysMs;
// SQLite's primary result codes that may pass: BUSY, LOCKED (another connection holds the file), IOERR, FULL.
const TRANSIENT = new Set([5, 6, 10, 13]);
// Rows whose bodies are compressed, oldest first, in the batches they were received in; the first may be waiting
// to be tried again (attempt > 0).
let batches = [];
let queue = [];
let attempt = 0;
let timer;
let scheduled = false;
const quality = { params: { [constants.BROTLI_PARAM_QUALITY]: 0 } };
const pack = (text) => (text === null || text === undefined ? null : brotliCompressSync(text, quality));
function write(rows) {
  db.exec('BEGIN IMMEDIATE');
  try {
    for (const row of rows) insert.run(...row);
    db.exec('COMMIT');
  } catch (err) {
    try { db.exec('ROLLBACK'); } catch {}
    throw err;
  }
}
function flush(closing) {
  scheduled = false;
  if (queue.length > 0) {
    batches.push(queue.map((v) => [...v.slice(0, bodies), ...v.slice(bodies).map(pack)]));
    queue = [];
  }
  while (batches.length > 0) {
    const rows = batches[0];
    try {
      write(rows);
    } catch (err) {
      const delay = retryDelays[attempt];
      if (!closing && delay !== undefined && TRANSIENT.has(err.errcode & 0xff)) {
        // Kept, with the batches after it, until it is written or the waits run out: a lock held longer than the
        // busy timeout (a VACUUM, another process's long write) or a full disk may pass.
        attempt += 1;
        timer = setTimeout(() => { timer = undefined; flush(false); }, delay);
        parentPort.postMessage({ retrying: String(err && err.message) });
        return;
      }
      parentPort.postMessage({ failed: rows.map((v) => v[1]), message: String(err && err.message) });
      batches.shift();
      attempt = 0;
      continue;
    }
    batches.shift();
    attempt = 0;
    parentPort.postMessage({ written: rows.length });
  }
}
parentPort.on('message', (message) => {
  if (message === 'close') {
    if (timer !== undefined) clearTimeout(timer);
    flush(true);
    db.close();
    parentPort.close();
    return;
  }
  queue.push(message);
  if (!scheduled && timer === undefined) {
    scheduled = true;
    setImmediate(() => flush(false));
  }
});
`;

function inline(store: AuditStore, log: Logger, lost: (count: number) => void): (entry: InvocationRecord) => void {
  // SQLite's store writes before record() returns; a failure rejects. The message of a SQLite error names the fault
  // (disk full, locked, no such table), never the data.
  return (entry) => {
    store.record(entry).catch((err: unknown) => {
      lost(1);
      log.error({ requestId: entry.requestId, err: { message: (err as Error).message } }, 'audit record not written');
    });
  };
}

/**
 * Starts the writer for an audit file.
 * @param store - the audit store (its tables exist; used directly for `:memory:` and after a worker failure).
 * @param path - AUDIT_STORE_PATH.
 * @param log - where failures are reported.
 * @param options - the retry waits and the busy timeout.
 * @returns the writer.
 */
export function auditWriter(store: AuditStore, path: string, log: Logger, options: AuditWriterOptions = {}): AuditWriter {
  let notWritten = 0;
  const lost = (count: number): void => {
    notWritten += count;
  };
  const write = inline(store, log, lost);
  if (path === ':memory:') {
    return { record: (e) => write(e), idle: () => Promise.resolve(), close: () => Promise.resolve(), state: () => ({ notWritten, retrying: false }) };
  }
  const workerData = { path, sql: INSERT_INVOCATION, bodies: BODIES, retryDelaysMs: options.retryDelaysMs ?? RETRY_DELAYS_MS, busyTimeoutMs: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS };
  // execArgv: none of the parent's loaders (tsx, the test runner's): the worker is plain CommonJS and starts faster.
  const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData });
  // Records posted and not yet reported back, in order (reports come in the same order), and their bodies' bytes.
  let inFlight: { readonly requestId: string; readonly bytes: number }[] = [];
  let queuedBytes = 0;
  let behind = false;
  let posted = 0;
  let reported = 0;
  // idle() callers, each waiting for the records posted before it; not for later ones, which under steady load
  // would never let it settle.
  let waiting: { upTo: number; resolve: () => void }[] = [];
  let alive = true;
  let closing = false;
  // Whether a batch the file refused waits to be tried again.
  let retrying = false;
  let fault: string | undefined;
  const settle = (): void => {
    waiting = waiting.filter((w) => {
      if (w.upTo > reported && !retrying) return true;
      w.resolve();
      return false;
    });
    // Held open only while someone waits for it (idle() or close()).
    if (waiting.length === 0 && alive && !closing) worker.unref();
  };
  const done = (count: number): void => {
    for (const r of inFlight.slice(0, count)) queuedBytes -= r.bytes;
    inFlight = inFlight.slice(count);
    reported += count;
    if (behind && queuedBytes < MAX_QUEUED_BYTES / 2) behind = false;
    settle();
  };
  worker.on('message', (report: Report) => {
    if ('retrying' in report) {
      if (!retrying) log.warn({ err: { message: report.retrying } }, 'audit log file refused a write: its records are kept and tried again');
      retrying = true;
      settle();
      return;
    }
    retrying = false;
    if ('failed' in report) {
      log.error({ requestIds: report.failed, err: { message: report.message } }, 'audit record not written');
      lost(report.failed.length);
      done(report.failed.length);
    } else {
      done(report.written);
    }
  });
  worker.on('error', (err: Error) => {
    fault = err.message;
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  // Not holding the process open by itself (after the listeners: adding a message listener refs the worker again);
  // close() holds it until what was queued is written.
  worker.unref();
  void exited.then(() => {
    alive = false;
    if (inFlight.length > 0) {
      log.error({ requestIds: inFlight.map((r) => r.requestId), err: { message: fault ?? 'the worker stopped' } }, 'audit writer stopped: these records were not written; later ones are written on the request thread');
      lost(inFlight.length);
    }
    done(inFlight.length);
  });
  return {
    record(entry) {
      if (!alive) {
        write(entry);
        return;
      }
      const values: InvocationValues = invocationValues(entry);
      const bytes = bodyBytes(entry);
      if (queuedBytes + bytes > MAX_QUEUED_BYTES && retrying) {
        // The file refuses writes: written here, the record would hold the request thread for the busy timeout and
        // fail the same way. It is not kept, and the service goes on answering.
        log.error({ requestIds: [entry.requestId], err: { message: 'the audit queue is full while the file refuses writes' } }, 'audit record not written');
        lost(1);
        return;
      }
      if (queuedBytes + bytes > MAX_QUEUED_BYTES) {
        // The worker is behind (all cores busy): this record is written here, which slows the request thread down
        // to what the disk and the compressor carry, instead of queueing without bound.
        if (!behind) log.warn({ queuedBytes }, 'audit writer behind: records are written on the request thread until it catches up');
        behind = true;
        write(entry);
        return;
      }
      inFlight.push({ requestId: entry.requestId, bytes });
      queuedBytes += bytes;
      posted += 1;
      worker.postMessage(values);
    },
    idle() {
      const upTo = posted;
      if (upTo <= reported || retrying) return Promise.resolve();
      // Awaited, the writer must keep the process open until it answers, as close() does.
      worker.ref();
      return new Promise((resolve) => waiting.push({ upTo, resolve }));
    },
    async close() {
      if (alive) {
        closing = true;
        worker.ref();
        worker.postMessage('close');
      }
      await exited;
    },
    state: () => ({ notWritten, retrying }),
  };
}
