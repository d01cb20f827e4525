/**
 * The SQLite audit writer's worker thread (audit-writer.ts), as source: plain CommonJS run with `eval`, so it needs
 * no build step or loader (as the FHIR definitions worker). It queues rows, then in the next turn compresses their
 * bodies and inserts them in one transaction, trying a refused batch again after each of the waits it is given.
 *
 * Messages in: a row's values; `{ chunk: rows }`, spooled records to write at once in one transaction, without
 * retries (the spool keeps what is refused); `'close'`. Reports out, in order: `{ written }`, `{ failed, message }`
 * (the request ids of a batch given up), `{ retrying }`, and for a chunk `{ chunkWritten }` or `{ chunkFailed }`.
 */

/** What the worker reports to the request thread. */
export type WorkerReport =
  | { readonly written: number }
  | { readonly failed: readonly string[]; readonly message: string }
  | { readonly retrying: string }
  | { readonly chunkWritten: number }
  | { readonly chunkFailed: string };

/** The worker's data: the file, the insert, where the bodies start in a row, the waits. */
export interface WorkerData {
  readonly path: string;
  readonly sql: string;
  readonly bodies: number;
  readonly retryDelaysMs: readonly number[];
  readonly busyTimeoutMs: number;
}

/** The worker's source. */
export const WORKER_SOURCE = `
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
const packed = (v) => [...v.slice(0, bodies), ...v.slice(bodies).map(pack)];
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
    batches.push(queue.map(packed));
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
  if (message && message.chunk) {
    try {
      write(message.chunk.map(packed));
      parentPort.postMessage({ chunkWritten: message.chunk.length });
    } catch (err) {
      parentPort.postMessage({ chunkFailed: String(err && err.message) });
    }
    return;
  }
  queue.push(message);
  if (!scheduled && timer === undefined) {
    scheduled = true;
    setImmediate(() => flush(false));
  }
});
`;
