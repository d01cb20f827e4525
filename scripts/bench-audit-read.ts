/**
 * `npm run bench:audit-read`: how long reading the audit log takes once it is large, for each way staff read it (a
 * patient's calls, one request, one hook instance, a time range, a page deep in the log), in SQLite and in
 * PostgreSQL. A SQLite read runs on the event loop that also answers the hooks, so its time is time every hook call
 * waits. Each database is filled with BENCH_AUDIT_ROWS calls (seed A's request and the service's answer, so rows
 * are the size the service writes), first with the indexes and statements of before session 32, then indexed as the
 * service now does at start (timed: the one-time cost of the upgrade), then read again. Then, in SQLite, how long
 * the event loop is held while the largest page is served over HTTP and while six hours of calls are pruned, the
 * way before session 32 and now. Bounded: a fixed number of reads per shape, in a temporary file and a throw-away
 * database. Writes its tables between markers in docs/benchmarks.md.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { loadPipeline } from '../src/pipeline.js';
import { auditStore, fromInvocationRow, INSERT_INVOCATION, invocationValues, packBody } from '../src/store/audit-store.js';
import type { InvocationFilter, InvocationRecord, InvocationRow } from '../src/store/audit-store.js';
import { openPrivateDatabase } from '../src/store/database.js';
import { postgresAuditStore } from '../src/store/postgres-audit-store.js';
import { openSharedDatabase } from '../src/store/postgres.js';
import { dropPostgresDatabase, freshPostgresDatabase } from '../test/support/postgres.js';
import { sendPage } from '../src/audit/send-page.js';
import { answeredCall } from './bench/calls.js';
import { holdDuring, loopHolds } from './bench/loop-holds.js';
import type { Hold } from './bench/loop-holds.js';
import { f } from './bench/numbers.js';
import { benchPostgres } from './bench/postgres.js';
import { writeSection } from './bench/report.js';
import { fixture } from './bench/synthetic.js';

const ROWS = Number(process.env['BENCH_AUDIT_ROWS'] ?? '200000');
/** Patients the calls are spread over (40 calls each at the default size). */
const PATIENTS = 5000;
const READS = 15;
const START = Date.parse('2026-01-01T00:00:00Z');
const MINUTE = 60_000;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Parameters<typeof openSharedDatabase>[1];

/** The n-th call of the filled log: one a minute, patients in turn. */
function nth(i: number): InvocationRecord {
  return {
    receivedAt: new Date(START + i * MINUTE), requestId: `req-${String(i)}`, serviceId: 'intrathecal-order-sign', hook: 'order-sign',
    hookInstance: `hi-${String(i)}`, patientId: `p${String(i % PATIENTS)}`, client: 'https://bench-ehr.example', status: 200, ms: 1,
    packs: 'intrathecal@bench', delivered: true,
  };
}

/** The ways staff read the log. */
const deep = Math.floor(ROWS * 0.1);
const SHAPES: [string, InvocationFilter][] = [
  ['the newest page', { limit: 50 }],
  ["a patient's newest page", { patientId: 'p7', limit: 50 }],
  ['a patient with no calls', { patientId: 'nobody', limit: 50 }],
  ['one request', { requestId: `req-${String(deep)}`, limit: 50 }],
  ['one hook instance', { hookInstance: `hi-${String(deep)}`, limit: 50 }],
  ['a page 90 % deep', { before: { at: new Date(START + deep * MINUTE), id: deep + 1 }, limit: 50 }],
  ["a patient's calls in a month", { patientId: 'p7', since: new Date(START + deep * MINUTE), until: new Date(START + (deep + 43_200) * MINUTE), limit: 50 }],
];

/** Median and slowest of READS reads, in ms, after one unmeasured read. */
async function timed(read: () => Promise<unknown[]> | unknown[]): Promise<string> {
  await read();
  const ms: number[] = [];
  for (let i = 0; i < READS; i++) {
    const start = performance.now();
    await read();
    ms.push(performance.now() - start);
  }
  ms.sort((a, b) => a - b);
  return `${f(ms[Math.floor(READS / 2)] ?? 0, 2)} / ${f(ms.at(-1) ?? 0, 2)}`;
}

/** Calls pruned each way: six hours' worth at 100,000 calls a day (the prune runs every six hours). */
const PRUNED = Math.min(25_000, Math.floor(ROWS / 8));

/** The largest page a reader may ask for (`_count`). */
const PAGE = 200;

/** Medians of the responses' whole time and of the longest hold of the event loop during each, in ms. */
function held(holds: readonly Hold[]): string {
  const median = (values: number[]): number => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  return `${f(median(holds.map((h) => h.totalMs)), 1)} / ${f(median(holds.map((h) => h.longestMs)), 1)}`;
}

/** The single statement SQLite's store used for every filter before session 32 (kept here only to measure it). */
const BEFORE_STATEMENT = `SELECT * FROM hook_invocation
  WHERE (:patient IS NULL OR patient_id = :patient) AND (:instance IS NULL OR hook_instance = :instance)
    AND (:request IS NULL OR request_id = :request) AND (:service IS NULL OR service_id = :service)
    AND (:since IS NULL OR received_at >= :since) AND (:until IS NULL OR received_at < :until)
    AND (:beforeAt IS NULL OR (received_at <= :beforeAt AND (received_at < :beforeAt OR id < :beforeId)))
  ORDER BY received_at DESC, id DESC LIMIT :limit`;

function beforeParameters(q: InvocationFilter): Record<string, SQLInputValue> {
  return {
    patient: q.patientId ?? null, instance: q.hookInstance ?? null, request: q.requestId ?? null, service: q.serviceId ?? null,
    since: q.since?.toISOString() ?? null, until: q.until?.toISOString() ?? null,
    beforeAt: q.before?.at.toISOString() ?? null, beforeId: q.before?.id ?? null, limit: q.limit,
  };
}

/** The indexes a log had before session 32: the patient's by id, none by request. */
const OLD_INDEXES = ['DROP INDEX hook_invocation_patient_time', 'DROP INDEX hook_invocation_request', 'CREATE INDEX hook_invocation_patient ON hook_invocation (patient_id, id)'];

async function sqlite(bodies: [Buffer | null, Buffer | null]): Promise<{ before: string[]; after: string[]; indexing: string; size: string; pageBefore: string; pageNow: string; pageMb: string; pruneBefore: string; pruneNow: string }> {
  const dir = mkdtempSync(join(os.tmpdir(), 'itcds-bench-audit-read-'));
  const path = join(dir, 'audit.sqlite');
  const open = (): DatabaseSync => openPrivateDatabase(path, 'NORMAL').db;
  try {
    const db = open();
    auditStore(db);
    const insert = db.prepare(INSERT_INVOCATION);
    db.exec('BEGIN');
    for (let i = 0; i < ROWS; i++) insert.run(...invocationValues(nth(i)).slice(0, 11), ...bodies);
    db.exec('COMMIT');
    for (const statement of OLD_INDEXES) db.exec(statement);
    const old = db.prepare(BEFORE_STATEMENT);
    const oldSearch = (q: InvocationFilter) => (old.all(beforeParameters(q)) as unknown as InvocationRow[]).map(fromInvocationRow);
    const before: string[] = [];
    for (const [, q] of SHAPES) before.push(await timed(() => oldSearch(q)));
    // A full page served as before session 32: read, unpacked and serialised at once (res.json).
    const pageBefore = held(await loopHolds(READS, (res) => {
      const body = JSON.stringify({ entries: oldSearch({ limit: PAGE }) });
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(body);
      return Promise.resolve();
    }));
    db.close();
    const started = performance.now();
    const indexed = open();
    const store = auditStore(indexed);
    const indexing = f((performance.now() - started) / 1000, 2);
    const after: string[] = [];
    for (const [, q] of SHAPES) after.push(await timed(() => store.search(q)));
    const pageNow = held(await loopHolds(READS, async (res) => sendPage(res, await store.search({ limit: PAGE }), undefined)));
    // Pruning: the oldest PRUNED calls at once, as before session 32 (one statement, one transaction), then as many
    // more through the store, in chunks and turns.
    const edge = (n: number): string => new Date(START + n * MINUTE).toISOString();
    const pruneBefore = await holdDuring(() => {
      indexed.prepare('DELETE FROM hook_invocation WHERE received_at < ?').run(edge(PRUNED));
      return Promise.resolve();
    });
    const pruneNow = await holdDuring(() => store.prune(new Date(edge(2 * PRUNED))));
    const pruned = (h: Hold): string => `${f(h.totalMs, 0)} / ${f(h.longestMs, 1)}`;
    const pageMb = f(Buffer.byteLength(JSON.stringify({ entries: await store.search({ limit: PAGE }) })) / 1e6, 1);
    indexed.close();
    return { before, after, indexing, size: f(statSync(path).size / 1e9, 2), pageBefore, pageNow, pageMb, pruneBefore: pruned(pruneBefore), pruneNow: pruned(pruneNow) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An instance of the version before, still running during the upgrade: it inserts a call every 20 ms. */
const WRITE_EVERY_MS = 20;

/**
 * Inserts a small call every WRITE_EVERY_MS on a connection of its own until `work` settles; a failure of `work`
 * fails the bench.
 * @returns the slowest insert, in ms, and how many there were.
 */
async function insertsDuring(url: string, work: Promise<unknown>): Promise<{ slowestMs: number; inserts: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let settled = false;
  const done = (): void => {
    settled = true;
  };
  work.then(done, done);
  let slowestMs = 0;
  let inserts = 0;
  try {
    while (!settled) {
      const start = performance.now();
      await client.query("INSERT INTO hook_invocation (received_at, request_id, service_id, client, ms, packs, delivered) VALUES (now(), 'old-instance', 's', 'c', 1, 'p', true)");
      slowestMs = Math.max(slowestMs, performance.now() - start);
      inserts += 1;
      await new Promise((resolve) => setTimeout(resolve, WRITE_EVERY_MS));
    }
  } finally {
    await client.end();
  }
  await work;
  return { slowestMs, inserts };
}

/** The indexes session 32 added, built as its start built them: plainly, in one transaction. */
async function plainBuild(client: pg.Client): Promise<void> {
  await client.query('BEGIN');
  await client.query('CREATE INDEX hook_invocation_patient_time ON hook_invocation (patient_id, received_at, id)');
  await client.query('CREATE INDEX hook_invocation_request ON hook_invocation (request_id)');
  await client.query('DROP INDEX hook_invocation_patient');
  await client.query('COMMIT');
}

async function postgres(server: string, bodies: [Buffer | null, Buffer | null]): Promise<{ before: string[]; after: string[]; indexing: string; tablesS: string; plainWrite: string; concurrentWrite: string; size: string }> {
  const url = await freshPostgresDatabase(server);
  try {
    const first = openSharedDatabase(url, quiet);
    await first.indexed;
    await first.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // One row with the bodies, then the rest made by the server from it (the bodies' bytes shared, as they are alike).
      const one = nth(0);
      await client.query(`INSERT INTO hook_invocation (received_at, request_id, service_id, hook, hook_instance, patient_id, client, status, ms, packs, delivered, request, response)
        SELECT $1::timestamptz + i * interval '1 minute', 'req-' || i, $2, $3, 'hi-' || i, 'p' || (i % ${String(PATIENTS)}), $4, 200, 1, $5, true, $6, $7
        FROM generate_series(0, ${String(ROWS - 1)}) i`, [one.receivedAt, one.serviceId, one.hook, one.client, one.packs, ...bodies]);
      for (const statement of OLD_INDEXES) await client.query(statement);
      await client.query('VACUUM ANALYZE hook_invocation');
      // Before: the indexes of before session 32 (its statements were already these), read through a pool of its
      // own, since opening the shared database would index the log first.
      const pool = new pg.Pool({ connectionString: url });
      const beforeStore = postgresAuditStore({ ready: Promise.resolve(), indexed: Promise.resolve(), run: (_what, work) => work(pool), close: () => pool.end() });
      const before: string[] = [];
      for (const [, q] of SHAPES) before.push(await timed(() => beforeStore.search(q)));
      await pool.end();
      // Session 32's start built them plainly, which stops every insert until the build is done: measured, then undone.
      const plain = await insertsDuring(url, plainBuild(client));
      for (const statement of OLD_INDEXES) await client.query(statement);
      // Now: opened as the service opens it: the tables at once (timed), then the indexes built concurrently while
      // the inserts go on (timed), then read again.
      const started = performance.now();
      const shared = openSharedDatabase(url, quiet);
      await shared.ready;
      const tablesS = f((performance.now() - started) / 1000, 2);
      const concurrent = await insertsDuring(url, shared.indexed);
      const indexing = f((performance.now() - started) / 1000, 2);
      const store = postgresAuditStore(shared);
      const after: string[] = [];
      for (const [, q] of SHAPES) after.push(await timed(() => store.search(q)));
      await shared.close();
      const size = await client.query<{ bytes: string }>("SELECT pg_total_relation_size('hook_invocation') AS bytes");
      const write = (w: { slowestMs: number; inserts: number }): string => `${f(w.slowestMs, 1)} (${String(w.inserts)} insert${w.inserts === 1 ? '' : 's'})`;
      return { before, after, indexing, tablesS, plainWrite: write(plain), concurrentWrite: write(concurrent), size: f(Number(size.rows[0]?.bytes ?? 0) / 1e9, 2) };
    } finally {
      await client.end();
    }
  } finally {
    await dropPostgresDatabase(url, server);
  }
}

async function main(): Promise<void> {
  const { pipeline } = loadPipeline(loadConfig({ ...process.env, NODE_ENV: 'development' }));
  const call = await answeredCall(pipeline, fixture('seed-a.order-sign.json'), new Date('2026-11-20T15:00:00Z'));
  const bodies: [Buffer | null, Buffer | null] = [packBody(call.request), packBody(call.response)];
  const lite = await sqlite(bodies);
  process.stdout.write(`SQLite: ${JSON.stringify(lite)}\n`);
  const server = await benchPostgres();
  let pgResult: Awaited<ReturnType<typeof postgres>> | undefined;
  try {
    if (server.url) pgResult = await postgres(server.url, bodies);
    process.stdout.write(`PostgreSQL: ${JSON.stringify(pgResult ?? server.why)}\n`);
  } finally {
    server.stop();
  }
  const cell = (r: { before: string[]; after: string[] } | undefined, side: 'before' | 'after', i: number): string => (r ? r[side][i] ?? '' : 'not measured');
  writeSection('audit-read', [
    '## Reading a large audit log (`npm run bench:audit-read`)',
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${String(os.cpus().length)} x ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}; ${f(ROWS)} calls in the log, one a minute over ${f(PATIENTS)} patients, each row seed A's request and the service's answer (${f(((bodies[0]?.length ?? 0) + (bodies[1]?.length ?? 0)) / 1024, 1)} KB stored); SQLite file ${lite.size} GB${pgResult ? `, PostgreSQL table ${pgResult.size} GB (${server.described})` : `; PostgreSQL not measured: ${server.why ?? 'no server'}`}. Each cell is the median / slowest of ${String(READS)} reads of a page of up to 50 calls through the store (the bodies decompressed and parsed), in ms, with the file or table in the page cache. A SQLite read runs on the event loop: for that long no hook call is answered. "Before" is the log as session 31 left it: SQLite's single statement for every filter, and both databases' indexes of then (the patient's by id, none by request); "now" is after the service's start has indexed it (the one-time cost is the last row).`,
    '',
    '| read | SQLite before | SQLite now | PostgreSQL before | PostgreSQL now |',
    '|---|---:|---:|---:|---:|',
    ...SHAPES.map(([name], i) => `| ${name} | ${cell(lite, 'before', i)} | ${cell(lite, 'after', i)} | ${cell(pgResult, 'before', i)} | ${cell(pgResult, 'after', i)} |`),
    `| opening the log the first time after the upgrade (indexing it), s | | ${lite.indexing} | | ${pgResult?.indexing ?? 'not measured'} |`,
    '',
    `PostgreSQL's one-time indexing, with another connection inserting a small call every ${String(WRITE_EVERY_MS)} ms meanwhile (an instance of the version before, still running during a rolling upgrade). Session 32's start built the indexes plainly, in its schema transaction, and every insert waited for the whole build; since session 33 the tables are made first (${pgResult?.tablesS ?? 'not measured'} s here, after which the instance answers) and the indexes are built concurrently (\`CREATE INDEX CONCURRENTLY\`, \`src/store/postgres-schema.ts\`), which lets the inserts through.`,
    '',
    '| indexes built, PostgreSQL | slowest insert meanwhile, ms |',
    '|---|---:|',
    `| plainly, in one transaction (session 32) | ${pgResult?.plainWrite ?? 'not measured'} |`,
    `| concurrently (now) | ${pgResult?.concurrentWrite ?? 'not measured'} |`,
    '',
    `A page of ${String(PAGE)} calls (the most \`_count\` allows, ${lite.pageMb} MB of JSON) served over HTTP from the SQLite log to a client in another process, ${String(READS)} times: the median of the whole answer's time / the median of the longest time the event loop was held while it was made (a ticker beside it notes the longest gap between two turns; a hook call arriving then waits that long). Before session 32 the page was read, unpacked and serialised at once (\`res.json\`); now it is unpacked and written an entry at a time, at most about 2 ms per turn (\`src/audit/send-page.ts\`). PostgreSQL's unpacking and serialising are the same code.`,
    '',
    '| page of 200 calls, SQLite | whole answer / longest hold, ms |',
    '|---|---:|',
    `| before session 32 | ${lite.pageBefore} |`,
    `| now | ${lite.pageNow} |`,
    '',
    `Pruning the SQLite log (every six hours; here the oldest ${f(PRUNED)} calls each way, the bodies as above): the whole prune's time / the longest hold of the event loop, in ms. Before session 32, one statement in one transaction; now statements of 50 rows, each its own transaction, about 2 ms of them per turn. The longest hold now is a WAL checkpoint, which SQLite runs in the committing connection every 1,000 pages written (by hand in session 32, with checkpoints off, the longest statement of 50 took 4.5 ms). PostgreSQL's prune was and is asynchronous (statements of 5,000 rows).`,
    '',
    '| prune, SQLite | whole prune / longest hold, ms |',
    '|---|---:|',
    `| before session 32 | ${lite.pruneBefore} |`,
    `| now | ${lite.pruneNow} |`,
  ]);
}

await main();
