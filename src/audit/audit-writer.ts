/**
 * Writes audit records off the request thread. Compressing and inserting a seed's call and answer took about
 * 0.3 ms of the event loop, and the service fell from 825 to 560 req/s on seed A with the writes inline; here the
 * request thread only builds the row's values (the bodies as JSON text) and posts them to a worker thread, which
 * compresses them and inserts a batch per transaction in its own connection to the audit file.
 *
 * - `idle()` settles once everything posted so far is written (or has failed and been logged): a reader of the log
 *   sees every call answered before the read.
 * - `close()` waits for the worker to write what it holds, so a stopping service loses nothing.
 * - A write that fails is logged with its request ids. If the worker itself dies, the rows it held are logged as
 *   lost and later rows are written on the request thread, as they are for an in-memory log (`:memory:` is one
 *   connection's own database, which a worker cannot share).
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import { BODIES, INSERT_INVOCATION, invocationValues } from '../store/audit-store.js';
import type { AuditStore, InvocationRecord, InvocationValues } from '../store/audit-store.js';

/** Where the request path hands its audit records. */
export interface AuditWriter {
  /** Queues one record; never throws (a failure is logged). */
  record(entry: InvocationRecord): void;
  /** Settles when every record queued so far is written or has failed. */
  idle(): Promise<void>;
  /** Writes what is queued and stops the worker. */
  close(): Promise<void>;
}

/** A message from the worker: a batch written, or a batch that failed. */
type Report = { readonly written: number } | { readonly failed: readonly string[]; readonly message: string };

/**
 * The worker: plain CommonJS run with `eval`, so it needs no build step or loader (as the FHIR definitions worker).
 * Queues rows, then in the next turn compresses their bodies and inserts them in one transaction.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const { gzipSync } = require('node:zlib');
const db = new DatabaseSync(workerData.path);
db.exec('PRAGMA busy_timeout = 5000');
db.exec('PRAGMA synchronous = NORMAL');
const insert = db.prepare(workerData.sql);
const bodies = workerData.bodies;
let queue = [];
let scheduled = false;
const pack = (text) => (typeof text === 'string' ? gzipSync(text, { level: 1 }) : null);
function flush() {
  scheduled = false;
  const batch = queue;
  queue = [];
  if (batch.length === 0) return;
  const rows = batch.map((v) => [...v.slice(0, bodies), pack(v[bodies]), pack(v[bodies + 1])]);
  try {
    db.exec('BEGIN IMMEDIATE');
    for (const row of rows) insert.run(...row);
    db.exec('COMMIT');
    parentPort.postMessage({ written: batch.length });
  } catch (err) {
    try { db.exec('ROLLBACK'); } catch {}
    parentPort.postMessage({ failed: batch.map((v) => v[1]), message: String(err && err.message) });
  }
}
parentPort.on('message', (message) => {
  if (message === 'close') {
    flush();
    db.close();
    parentPort.close();
    return;
  }
  queue.push(message);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});
`;

function inline(store: AuditStore, log: Logger): (entry: InvocationRecord) => void {
  return (entry) => {
    try {
      store.record(entry);
    } catch (err) {
      // The message of a SQLite error names the fault (disk full, locked, no such table), never the data.
      log.error({ requestId: entry.requestId, err: { message: (err as Error).message } }, 'audit record not written');
    }
  };
}

/**
 * Starts the writer for an audit file.
 * @param store - the audit store (its tables exist; used directly for `:memory:` and after a worker failure).
 * @param path - AUDIT_STORE_PATH.
 * @param log - where failures are reported.
 * @returns the writer.
 */
export function auditWriter(store: AuditStore, path: string, log: Logger): AuditWriter {
  const write = inline(store, log);
  if (path === ':memory:') return { record: (e) => write(e), idle: () => Promise.resolve(), close: () => Promise.resolve() };
  // execArgv: none of the parent's loaders (tsx, the test runner's): the worker is plain CommonJS and starts faster.
  const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { path, sql: INSERT_INVOCATION, bodies: BODIES } });
  // Request ids posted and not yet reported back, in order.
  let inFlight: string[] = [];
  let waiting: (() => void)[] = [];
  let alive = true;
  const settle = (): void => {
    if (inFlight.length > 0) return;
    for (const resolve of waiting) resolve();
    waiting = [];
  };
  worker.on('message', (report: Report) => {
    if ('failed' in report) {
      log.error({ requestIds: report.failed, err: { message: report.message } }, 'audit record not written');
      inFlight = inFlight.slice(report.failed.length);
    } else {
      inFlight = inFlight.slice(report.written);
    }
    settle();
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('error', (err: Error) => {
    log.error({ requestIds: inFlight, err: { message: err.message } }, 'audit writer stopped: these records were not written; later ones are written on the request thread');
  });
  // Not holding the process open by itself (after the listeners: adding a message listener refs the worker again);
  // close() holds it until what was queued is written.
  worker.unref();
  void exited.then(() => {
    alive = false;
    inFlight = [];
    settle();
  });
  return {
    record(entry) {
      if (!alive) {
        write(entry);
        return;
      }
      const values: InvocationValues = invocationValues(entry);
      inFlight.push(entry.requestId);
      worker.postMessage(values);
    },
    idle() {
      if (inFlight.length === 0) return Promise.resolve();
      return new Promise((resolve) => waiting.push(resolve));
    },
    async close() {
      if (alive) {
        worker.ref();
        worker.postMessage('close');
      }
      await exited;
    },
  };
}
