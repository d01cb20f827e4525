/**
 * Writes audit records off the request thread. Compressing (with gzip, then) and inserting a seed's call and answer
 * took about 0.3 ms of the event loop, and the service fell from 825 to 560 req/s on seed A with the writes inline;
 * here the request thread only builds the row's values (the bodies as JSON text or the bytes received) and posts
 * them to a worker thread (sqlite-writer-worker.ts), which compresses them (Brotli, quality 0) and inserts a batch
 * per transaction in its own connection to the audit file.
 *
 * - `idle()` settles once everything posted before it is written (or has been spooled or given up): a reader of the
 *   log sees every call answered before the read, however busy the service.
 * - `close()` waits for the worker to write what it holds, so a stopping service loses nothing.
 * - A write the file refuses for a while (locked past the busy timeout by a VACUUM or another process's long write,
 *   a full disk, an I/O error) is tried again after each of RETRY_DELAYS_MS, the records after it waiting behind it;
 *   meanwhile `idle()` settles at once (a reader is not held for it) and, past MAX_QUEUED_BYTES, a new record is
 *   not queued, so the service goes on answering. A batch that still fails, or fails for good (no such table), and
 *   such new records go to the spool (audit-spool.ts, AUDIT_SPOOL_DIR), as the PostgreSQL writer's do: they are
 *   written after the next batch the file takes, and every SPOOL_DRAIN_MS while any wait, a chunk at a time, pausing
 *   for new records. Without a spool, or with it full (or on the same full disk), they are logged as not written.
 * - If the worker itself dies, the rows it held are spooled, and later rows are written on the request thread, as
 *   they are for an in-memory log (`:memory:` is one connection's own database, which a worker cannot share) and
 *   while the worker is MAX_QUEUED_BYTES behind with every core busy. So is the spool, at once and every
 *   SPOOL_DRAIN_MS while records wait: a chunk in one transaction, its bodies compressed in turns (in-turns.ts).
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import { BODIES, bodyBytes, INSERT_INVOCATION, invocationValues } from '../store/audit-store.js';
import type { AuditStore, InvocationRecord, InvocationValues } from '../store/audit-store.js';
import { keepOrLose } from './audit-spool.js';
import type { AuditSpool } from './audit-spool.js';
import { WORKER_SOURCE } from './sqlite-writer-worker.js';
import type { WorkerData, WorkerReport } from './sqlite-writer-worker.js';

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
  /** With a spool: the bytes of records on this machine's disk waiting for the database or the file, all processes'. */
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

/** How often spooled records are offered to the store while some wait (besides after each batch it takes). */
export const SPOOL_DRAIN_MS = 30_000;

/** What the writer may be given besides its store, path and log (tests shorten the waits). */
export interface AuditWriterOptions {
  readonly retryDelaysMs?: readonly number[];
  readonly busyTimeoutMs?: number;
  /** Where records the file does not take are kept; without it they are logged as not written. */
  readonly spool?: AuditSpool;
  readonly spoolDrainMs?: number;
}

/** Keeps records the file did not take in the spool; logs them as not written when it cannot (none, or full). */
type Keep = (records: readonly InvocationRecord[], why: string) => void;

function inline(store: AuditStore, keep: Keep): (entry: InvocationRecord) => void {
  // SQLite's store writes before record() returns; a failure rejects. The message of a SQLite error names the fault
  // (disk full, locked, no such table), never the data.
  return (entry) => {
    store.record(entry).catch((err: unknown) => keep([entry], (err as Error).message));
  };
}

/**
 * Starts the writer for an audit file.
 * @param store - the audit store (its tables exist; used directly for `:memory:` and after a worker failure).
 * @param path - AUDIT_STORE_PATH.
 * @param log - where failures are reported.
 * @param options - the retry waits, the busy timeout and the spool.
 * @returns the writer.
 */
export function auditWriter(store: AuditStore, path: string, log: Logger, options: AuditWriterOptions = {}): AuditWriter {
  const { spool } = options;
  let notWritten = 0;
  const keep: Keep = (records, why) => {
    notWritten += keepOrLose(spool, records, why, 'the audit file', log);
  };
  const state = (retrying: boolean): AuditWriterState => ({ notWritten, retrying, ...(spool ? { spoolBytes: spool.bytes() } : {}) });
  const write = inline(store, keep);
  if (path === ':memory:') {
    return { record: (e) => write(e), idle: () => Promise.resolve(), close: () => Promise.resolve(), state: () => state(false) };
  }
  const workerData: WorkerData = { path, sql: INSERT_INVOCATION, bodies: BODIES, retryDelaysMs: options.retryDelaysMs ?? RETRY_DELAYS_MS, busyTimeoutMs: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS };
  // execArgv: none of the parent's loaders (tsx, the test runner's): the worker is plain CommonJS and starts faster.
  const worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData });
  // Records posted and not yet reported back, in order (reports come in the same order), and their bodies' bytes.
  let inFlight: { readonly entry: InvocationRecord; readonly bytes: number }[] = [];
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
  // Records that came while the queue was full and the file refused writes, spooled together at the next turn.
  let overflow: InvocationRecord[] = [];
  // A drain of the spool under way, and the chunk of it the worker is writing.
  let draining: Promise<void> | undefined;
  let chunk: { resolve: () => void; reject: (err: Error) => void } | undefined;
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
  /**
   * One chunk of spooled records, written in one transaction: by the worker, or, once it has died, here (compressed
   * in turns); rejects when the file refuses it.
   */
  const writeChunk = (records: InvocationRecord[]): Promise<void> =>
    !alive ? store.recordAll(records) : new Promise((resolve, reject) => {
      chunk = { resolve, reject };
      worker.postMessage({ chunk: records.map(invocationValues) });
    });
  /** Writes the spooled records, a chunk at a time, pausing when new records are posted (they go first). */
  const drain = (): void => {
    if (!spool?.pending || draining || retrying || closing) return;
    draining = spool
      .drain(writeChunk, () => inFlight.length > 0 || closing)
      .then(
        () => undefined,
        (err: unknown) => log.warn({ err: { message: (err as Error).message } }, 'audit spool: a drain stopped; its records are kept for the next')
      )
      .finally(() => {
        draining = undefined;
      });
  };
  worker.on('message', (report: WorkerReport) => {
    if ('chunkWritten' in report || 'chunkFailed' in report) {
      const taken = chunk;
      chunk = undefined;
      if ('chunkWritten' in report) taken?.resolve();
      else taken?.reject(new Error(report.chunkFailed));
      return;
    }
    if ('retrying' in report) {
      if (!retrying) log.warn({ err: { message: report.retrying } }, 'audit log file refused a write: its records are kept and tried again');
      retrying = true;
      settle();
      return;
    }
    retrying = false;
    if ('failed' in report) {
      keep(inFlight.slice(0, report.failed.length).map((r) => r.entry), report.message);
      done(report.failed.length);
    } else {
      done(report.written);
      // The file took a batch: what waits in the spool goes now.
      drain();
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
    // Nothing retries any longer: a worker that died while retrying would otherwise leave /healthz saying so for good,
    // and the spool never drained.
    retrying = false;
    chunk?.reject(new Error(fault ?? 'the worker stopped'));
    if (inFlight.length > 0) {
      log.error({ err: { message: fault ?? 'the worker stopped' } }, 'audit writer stopped: later records are written on the request thread');
      keep(inFlight.map((r) => r.entry), fault ?? 'the worker stopped');
    }
    done(inFlight.length);
    // What waits in the spool is written here from now on: now, and every SPOOL_DRAIN_MS while any waits.
    drain();
  });
  const spoolOverflow = (): void => {
    const records = overflow;
    overflow = [];
    keep(records, 'the audit queue is full while the file refuses writes');
  };
  // While spooled records wait (a previous run's, or after an outage with no traffic since), they are offered to the
  // file now and then.
  const drainTimer = spool ? setInterval(drain, options.spoolDrainMs ?? SPOOL_DRAIN_MS) : undefined;
  drainTimer?.unref();
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
        // fail the same way. It goes to the spool (or, without one, is not kept), and the service goes on answering.
        overflow.push(entry);
        if (overflow.length === 1) setImmediate(spoolOverflow);
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
      inFlight.push({ entry, bytes });
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
      closing = true;
      if (drainTimer) clearInterval(drainTimer);
      if (alive) worker.ref();
      // A drain under way stops after its chunk (it yields when closing), keeping its place.
      await draining;
      if (alive) worker.postMessage('close');
      await exited;
      if (overflow.length > 0) spoolOverflow();
      spool?.close();
    },
    state: () => state(retrying),
  };
}
