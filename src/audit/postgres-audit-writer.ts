/**
 * Writes audit records to the shared PostgreSQL database (DATABASE_URL) off the request path. The request thread
 * only queues the record; one loop at a time takes everything queued, has the bodies compressed (in a worker thread,
 * body-compressor.ts) and inserts them in one transaction, so under load the batches grow instead of the round trips
 * multiplying.
 *
 * - `idle()` settles once everything queued before it is written or given up: a read through this instance sees
 *   every call this instance answered before the read. (Calls another instance answered appear once its own writer
 *   has written them, normally within milliseconds.) It also settles while a failed batch waits to be tried
 *   again: the database is away, so a reader gets its 503 at once rather than after the retries.
 * - A batch that fails (the database restarting, a failover) is tried again after each of RETRY_DELAYS_MS; then its
 *   request ids are logged as not written and the loop goes on with the next batch.
 * - The queue holds at most MAX_QUEUED_BYTES of bodies. Past it, while the database is away, a record is not queued
 *   and its request id is logged as not written: the service keeps answering, and its memory stays bounded.
 * - `close()` writes what is queued, trying a failing batch once more instead of waiting out the retries.
 */
import type { Logger } from '../log.js';
import { bodyBytes } from '../store/audit-store.js';
import type { InvocationRecord } from '../store/audit-store.js';
import type { PostgresAuditStore } from '../store/postgres-audit-store.js';
import type { AuditWriter } from './audit-writer.js';
import { MAX_QUEUED_BYTES, RETRY_DELAYS_MS } from './audit-writer.js';

/** What the writer may be given besides its store and log (tests shorten the waits). */
export interface PostgresWriterOptions {
  readonly retryDelaysMs?: readonly number[];
  readonly maxQueuedBytes?: number;
}


/**
 * Starts the writer.
 * @param store - the PostgreSQL audit store.
 * @param log - where failures are reported (request ids and the fault, never the data).
 * @param options - the retry waits and the queue's bound.
 * @returns the writer.
 */
export function postgresAuditWriter(store: PostgresAuditStore, log: Logger, options: PostgresWriterOptions = {}): AuditWriter {
  const delays = options.retryDelaysMs ?? RETRY_DELAYS_MS;
  const maxBytes = options.maxQueuedBytes ?? MAX_QUEUED_BYTES;
  let queue: InvocationRecord[] = [];
  let queuedBytes = 0;
  let queued = 0;
  let finished = 0;
  let waiting: { upTo: number; resolve: () => void }[] = [];
  let loop: Promise<void> | undefined;
  let closing = false;
  let full = false;
  // Whether a failed batch waits to be tried again (the database is away).
  let retrying = false;
  // The wait before the next attempt, cut short by close().
  let wake: (() => void) | undefined;

  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        wake = undefined;
        resolve();
      }, ms);
      timer.unref();
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
    });

  /** Resolves the idle() callers waiting for no more than `upTo` records. */
  const settle = (upTo: number): void => {
    waiting = waiting.filter((w) => {
      if (w.upTo > upTo) return true;
      w.resolve();
      return false;
    });
  };

  const write = async (batch: readonly InvocationRecord[]): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await store.recordAll(batch);
        return;
      } catch (err) {
        const delay = delays[attempt];
        if (closing || delay === undefined) {
          log.error({ requestIds: batch.map((e) => e.requestId), err: { message: (err as Error).message } }, 'audit record not written');
          return;
        }
        retrying = true;
        settle(Infinity);
        await pause(delay);
        retrying = false;
      }
    }
  };

  const run = async (): Promise<void> => {
    // A turn of the event loop first, so that the records of calls finishing together go in one batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      await write(batch);
      queuedBytes -= batch.reduce((sum, e) => sum + bodyBytes(e), 0);
      if (full && queuedBytes < maxBytes / 2) full = false;
      finished += batch.length;
      settle(finished);
    }
    loop = undefined;
  };

  return {
    record(entry) {
      const bytes = bodyBytes(entry);
      if (queuedBytes + bytes > maxBytes) {
        if (!full) log.warn({ queuedBytes }, 'audit writer full: the database has not taken the queued records; new ones are not written until it does');
        full = true;
        log.error({ requestIds: [entry.requestId], err: { message: 'the audit queue is full' } }, 'audit record not written');
        return;
      }
      queue.push(entry);
      queuedBytes += bytes;
      queued += 1;
      loop ??= run();
    },
    idle() {
      const upTo = queued;
      if (upTo <= finished || retrying) return Promise.resolve();
      return new Promise((resolve) => waiting.push({ upTo, resolve }));
    },
    async close() {
      closing = true;
      wake?.();
      await loop;
    },
  };
}
