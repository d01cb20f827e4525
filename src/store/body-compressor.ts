/**
 * Compresses the audit log's bodies (Brotli, quality 0, as the SQLite writer's worker does) for the PostgreSQL
 * store. The service uses a worker thread: the event loop only copies the bodies to it and the compressed bytes
 * back, one message per batch, answered in order. Per seed A record the main thread's CPU fell from 123 to 93 us
 * (bench:audit, session 31), and over HTTP a saturated service kept 650-661 req/s against 618-652 compressing here.
 *
 * If the worker stops (it should not: it only compresses), the batches it held and every later one are compressed
 * on the event loop instead, a few milliseconds' worth per turn, and the stop is logged once: nothing is lost, it
 * only costs the event loop more.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../log.js';
import { BROTLI_OPTIONS, packBody } from './audit-store.js';
import { mapInTurns } from './in-turns.js';

/** A body as recorded (the bytes received or the answer's JSON), or none. */
export type Body = string | Uint8Array | undefined;

/** Turns bodies into what the store keeps. */
export interface BodyCompressor {
  /** Each body compressed, in the same order; an absent body stays null. Never rejects. */
  compress(bodies: readonly Body[]): Promise<(Buffer | null)[]>;
  /** Stops the worker once what it holds is compressed. */
  close(): Promise<void>;
}

/**
 * Compresses on the event loop, a couple of milliseconds of bodies per turn (in-turns.ts), so that a large batch
 * never holds the thread for long. One body per turn was too slow: a turn of a saturated service also runs the calls
 * whose input arrived meanwhile, so the writer fell behind, its queue filled, and seven of ten records were not
 * written (bench:stores, session 31; a unit test holds the budget: 5-6 busy turns for 200 seed-sized bodies, 199 one
 * per turn). Synchronously: zlib's asynchronous call cost the thread more than the compression itself (per seed A
 * record, event loop 219 us with it against 178 us so; bench:audit, session 30).
 */
export const compressHere: BodyCompressor = {
  compress: (bodies) => mapInTurns(bodies, packBody),
  close: () => Promise.resolve(),
};

/** The worker: plain CommonJS run with `eval`, so it needs no build step or loader (as the audit file's writer). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { brotliCompressSync } = require('node:zlib');
parentPort.on('message', (bodies) => {
  parentPort.postMessage(bodies.map((b) => (b === undefined || b === null ? null : brotliCompressSync(b, workerData.options))));
});
`;

/** A batch sent to the worker and not yet answered. */
interface Pending {
  readonly bodies: readonly Body[];
  readonly resolve: (out: (Buffer | null)[]) => void;
}

/**
 * Starts a worker thread that compresses bodies.
 * @param log - where a stop of the worker is reported (its message only).
 * @param source - the worker's code; only a test gives another (one that stops, a fault the real one cannot be
 *   made to show).
 * @returns the compressor.
 */
export function compressInWorker(log: Logger, source: string = WORKER_SOURCE): BodyCompressor {
  // execArgv: none of the parent's loaders (tsx, the test runner's): the worker is plain CommonJS and starts faster.
  const worker = new Worker(source, { eval: true, execArgv: [], workerData: { options: BROTLI_OPTIONS } });
  const pending: Pending[] = [];
  let alive = true;
  let closing = false;
  let fault: string | undefined;
  // close() waiting for the batches out to come back.
  let drained: (() => void) | undefined;
  const answered = (): void => {
    if (pending.length > 0) return;
    worker.unref();
    drained?.();
  };
  worker.on('message', (out: (Uint8Array | null)[]) => {
    const job = pending.shift();
    job?.resolve(out.map((b) => (b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength))));
    answered();
  });
  worker.on('error', (err: Error) => {
    fault = err.message;
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  // Held open only while a batch is out (after the listeners: adding a message listener refs the worker again).
  worker.unref();
  void exited.then(async () => {
    if (!closing) log.error({ err: { message: fault ?? 'the worker stopped' } }, 'audit compression worker stopped: bodies are compressed on the event loop from now on');
    alive = false;
    for (const job of pending.splice(0)) job.resolve(await compressHere.compress(job.bodies));
    drained?.();
  });
  return {
    compress(bodies) {
      if (!alive || closing || bodies.length === 0) return compressHere.compress(bodies);
      return new Promise((resolve) => {
        worker.postMessage(bodies);
        pending.push({ bodies, resolve });
        worker.ref();
      });
    },
    async close() {
      if (alive && !closing) {
        closing = true;
        if (pending.length > 0) await new Promise<void>((resolve) => (drained = resolve));
        await worker.terminate();
      }
      await exited;
    },
  };
}
