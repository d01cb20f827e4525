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
 * - A batch that fails (the database restarting, a failover) is tried again after each of RETRY_DELAYS_MS; then it
 *   goes to the spool on disk (audit-spool.ts, AUDIT_SPOOL_DIR) and the loop goes on with the next batch. Spooled
 *   records are written to the database after the next batch it takes, and every SPOOL_DRAIN_MS while any wait,
 *   a chunk at a time: the drain pauses whenever new records are queued, so that they (and a reader) do not wait
 *   for the whole spool.
 * - The queue holds at most MAX_QUEUED_BYTES of bodies. Past it, while the database is away, a record goes to the
 *   spool instead: the service keeps answering, and its memory stays bounded.
 * - Without a spool (STORE_PATH `:memory:`), or with the spool full, such records are logged as not written.
 * - `close()` writes what is queued, trying a failing batch once more instead of waiting out the retries, and
 *   spools what the database does not take, for the next start to write.
 */
import type { Logger } from '../log.js';
import { bodyBytes } from '../store/audit-store.js';
import type { AuditStore, InvocationRecord } from '../store/audit-store.js';
import { keepOrLose } from './audit-spool.js';
import type { AuditSpool } from './audit-spool.js';
import type { AuditWriter } from './audit-writer.js';
import { MAX_QUEUED_BYTES, RETRY_DELAYS_MS, SPOOL_DRAIN_MS } from './audit-writer.js';

/** What the writer may be given besides its store and log (tests shorten the waits). */
export interface PostgresWriterOptions {
  readonly retryDelaysMs?: readonly number[];
  readonly maxQueuedBytes?: number;
  /** Where records the database does not take are kept; without it they are logged as not written. */
  readonly spool?: AuditSpool;
  readonly spoolDrainMs?: number;
}


/**
 * Starts the writer.
 * @param store - the PostgreSQL audit store.
 * @param log - where failures are reported (request ids and the fault, never the data).
 * @param options - the retry waits and the queue's bound.
 * @returns the writer.
 */
export function postgresAuditWriter(store: AuditStore, log: Logger, options: PostgresWriterOptions = {}): AuditWriter {
  const delays = options.retryDelaysMs ?? RETRY_DELAYS_MS;
  const maxBytes = options.maxQueuedBytes ?? MAX_QUEUED_BYTES;
  const { spool } = options;
  let queue: InvocationRecord[] = [];
  // Records that came while the queue was full, spooled together at the next turn of the event loop.
  let overflow: InvocationRecord[] = [];
  let queuedBytes = 0;
  let queued = 0;
  let finished = 0;
  let waiting: { upTo: number; resolve: () => void }[] = [];
  let loop: Promise<void> | undefined;
  let closing = false;
  let full = false;
  let notWritten = 0;
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

  /** Keeps records the database did not take in the spool; logs them as not written when it cannot. */
  const keep = (batch: readonly InvocationRecord[], why: string): void => {
    notWritten += keepOrLose(spool, batch, why, 'the database', log);
  };

  /** Writes a batch, trying again through an outage; false when it went to the spool (or was lost) instead. */
  const write = async (batch: readonly InvocationRecord[]): Promise<boolean> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await store.recordAll(batch);
        return true;
      } catch (err) {
        const delay = delays[attempt];
        if (closing || delay === undefined) {
          keep(batch, (err as Error).message);
          return false;
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
    for (;;) {
      let taken = true;
      while (queue.length > 0) {
        const batch = queue;
        queue = [];
        taken = await write(batch);
        queuedBytes -= batch.reduce((sum, e) => sum + bodyBytes(e), 0);
        if (full && queuedBytes < maxBytes / 2) full = false;
        finished += batch.length;
        settle(finished);
      }
      // The database took the last batch (or none was waiting): the spooled records go now, oldest first.
      if (!spool?.pending || !taken || closing) break;
      // A chunk at a time, pausing when new records wait: an audit read waits for those, not for the whole spool.
      await spool.drain((records) => store.recordAll(records), () => queue.length > 0 || closing);
      if (queue.length === 0) break;
    }
    loop = undefined;
  };

  const spoolOverflow = (): void => {
    const batch = overflow;
    overflow = [];
    keep(batch, 'the audit queue is full');
  };
  // While spooled records wait, they are offered to the database now and then, traffic or not.
  const drainTimer = spool
    ? setInterval(() => {
        if (spool.pending) loop ??= run();
      }, options.spoolDrainMs ?? SPOOL_DRAIN_MS)
    : undefined;
  drainTimer?.unref();

  return {
    record(entry) {
      const bytes = bodyBytes(entry);
      if (queuedBytes + bytes > maxBytes) {
        if (!full) log.warn({ queuedBytes }, `audit writer full: the database has not taken the queued records; new ones ${spool ? 'go to the spool' : 'are not written'} until it does`);
        full = true;
        overflow.push(entry);
        if (overflow.length === 1) setImmediate(spoolOverflow);
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
      if (drainTimer) clearInterval(drainTimer);
      wake?.();
      await loop;
      if (overflow.length > 0) spoolOverflow();
      spool?.close();
    },
    state: () => ({ notWritten, retrying, ...(spool ? { spoolBytes: spool.bytes() } : {}) }),
  };
}
