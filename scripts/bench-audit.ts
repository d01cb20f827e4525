/**
 * `npm run bench:audit`: what recording one hook call in the audit log costs, in process, for the seeds' calls, a
 * 1,000-resource record and seed A's call without prefetch (the record read from the EHR kept beside it): the request
 * thread's share (building the row and posting it), the whole process's CPU (the writer thread's compression and
 * insert included), the stored size, and the compressors Node ships for the same bodies, so the report can say where
 * the cost of the audit log goes. Then the same records through the
 * PostgreSQL writer (DATABASE_URL): into BENCH_DATABASE_URL when given, else into a throw-away cluster of Debian's
 * PostgreSQL on loopback (the tests' own), else that table says why it is missing. Bounded: a fixed number of
 * records per case, written to a temporary file or database. Writes its tables between markers in
 * docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync, zstdCompressSync } from 'node:zlib';
import { auditWriter } from '../src/audit/audit-writer.js';
import type { AuditWriter } from '../src/audit/audit-writer.js';
import { postgresAuditWriter } from '../src/audit/postgres-audit-writer.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { loadPipeline } from '../src/pipeline.js';
import { auditStore } from '../src/store/audit-store.js';
import { openPrivateDatabase } from '../src/store/database.js';
import { postgresAuditStore } from '../src/store/postgres-audit-store.js';
import { openSharedDatabase } from '../src/store/postgres.js';
import { compressHere, compressInWorker } from '../src/store/body-compressor.js';
import { dropPostgresDatabase, freshPostgresDatabase } from '../test/support/postgres.js';
import { answeredCall, readFromEhrCall } from './bench/calls.js';
import type { Call } from './bench/calls.js';
import { cpuMs } from './bench/proc.js';
import { fixture, synthetic } from './bench/synthetic.js';
import { benchPostgres } from './bench/postgres.js';
import { writeSection } from './bench/report.js';

const RECORDS = Number(process.env['BENCH_AUDIT_RECORDS'] ?? '3000');
/** Records posted before waiting for the writer: a busy second's worth, so the queue stays as short as in service. */
const BURST = 100;
const NOW = new Date('2026-11-20T15:00:00Z');

/** Microseconds per call of `f` over `times` calls, after a warm-up. */
function perCall(times: number, f: () => unknown): number {
  for (let i = 0; i < 50; i++) f();
  const start = process.hrtime.bigint();
  for (let i = 0; i < times; i++) f();
  return Number(process.hrtime.bigint() - start) / 1e3 / times;
}

/** A compressor's time (us) and output size for the two bodies of one call. */
function compressor(request: Buffer, response: string, compress: (b: Buffer | string) => Buffer): string {
  const us = perCall(500, () => [compress(request), compress(response)]);
  const bytes = compress(request).length + compress(response).length;
  return `${us.toFixed(0)} us, ${(bytes / 1024).toFixed(1)} KB`;
}

/**
 * What writing RECORDS records took, each per record: the request thread's share in `record()`, the event loop's
 * busy time (`record()` and whatever the writer does on that thread later), the process's CPU and the wall time.
 */
interface Cost {
  readonly requestThreadUs: number;
  readonly eventLoopUs: number;
  readonly threadCpuUs: number;
  readonly cpuUs: number;
  readonly wallUs: number;
}

/** Posts BURST unmeasured records (warm-up), then RECORDS measured ones, BURST at a time, waiting for the writer. */
async function drive(writer: AuditWriter, call: Call): Promise<Cost> {
  const record = (i: number): void => writer.record({
    receivedAt: new Date(), requestId: `bench-${i}`, serviceId: 'intrathecal-order-sign', hook: 'order-sign',
    hookInstance: `bench-${i}`, patientId: 'bench', client: 'https://bench-ehr.example', status: 200, ms: 1,
    packs: 'intrathecal@bench', delivered: true, request: Buffer.from(call.request), response: call.response,
    ...(call.fetched === undefined ? {} : { fetched: call.fetched }),
  });
  // Warm-up (the worker's start, the first compilations), not measured.
  for (let i = 0; i < BURST; i++) record(-1 - i);
  await writer.idle();
  const cpuBefore = process.cpuUsage();
  const loopBefore = performance.eventLoopUtilization();
  const threadBefore = cpuMs(process.pid, process.pid);
  const wallStart = process.hrtime.bigint();
  let onRequestThread = 0n;
  for (let i = 0; i < RECORDS; i++) {
    const started = process.hrtime.bigint();
    record(i);
    onRequestThread += process.hrtime.bigint() - started;
    if (i % BURST === BURST - 1) await writer.idle();
  }
  await writer.idle();
  const cpu = process.cpuUsage(cpuBefore);
  const loop = performance.eventLoopUtilization(loopBefore);
  return {
    requestThreadUs: Number(onRequestThread) / 1e3 / RECORDS,
    eventLoopUs: (loop.active * 1e3) / RECORDS,
    threadCpuUs: ((cpuMs(process.pid, process.pid) - threadBefore) * 1e3) / RECORDS,
    cpuUs: (cpu.user + cpu.system) / RECORDS,
    wallUs: Number(process.hrtime.bigint() - wallStart) / 1e3 / RECORDS,
  };
}

async function measure(name: string, call: Call, dir: string): Promise<string> {
  const { request, response } = call;
  const sent = request.length + response.length + (call.fetched?.length ?? 0);
  const path = join(dir, `${name.replace(/\W+/g, '-')}.sqlite`);
  const { db } = openPrivateDatabase(path, 'NORMAL');
  const store = auditStore(db);
  const writer = auditWriter(store, path, createLogger('warn', process.stderr));
  const cost = await drive(writer, call);
  const rss = process.memoryUsage().rss;
  await writer.close();
  const stored = db.prepare('SELECT count(*) AS rows, avg(length(request) + length(response) + coalesce(length(fetched), 0)) AS bytes FROM hook_invocation').get() as { rows: number; bytes: number };
  db.close();
  if (stored.rows !== RECORDS + BURST) throw new Error(`${name}: ${stored.rows} of ${RECORDS + BURST} records stored`);
  const q0 = { params: { [constants.BROTLI_PARAM_QUALITY]: 0 } };
  const zstd1 = { params: { [constants.ZSTD_c_compressionLevel]: 1 } };
  return [
    `| ${name}`,
    `${(sent / 1024).toFixed(1)} KB`,
    `${cost.requestThreadUs.toFixed(0)} us`,
    `${cost.eventLoopUs.toFixed(0)} us`,
    `${cost.threadCpuUs.toFixed(0)} us`,
    `${cost.cpuUs.toFixed(0)} us`,
    `${(stored.bytes / 1024).toFixed(1)} KB`,
    `${(rss / 1e6).toFixed(0)} MB`,
    compressor(request, response, (b) => brotliCompressSync(b, q0)),
    compressor(request, response, (b) => gzipSync(b, { level: 1 })),
    `${compressor(request, response, (b) => zstdCompressSync(b, zstd1))} |`,
  ].join(' | ');
}

/** Where the PostgreSQL store's Brotli runs: the service's worker thread, or the event loop as a comparison. */
const COMPRESSORS = { 'worker thread (used)': () => compressInWorker(createLogger('warn', process.stderr)), 'event loop': () => compressHere } as const;

async function measurePostgres(name: string, call: Call, server: string, where: keyof typeof COMPRESSORS): Promise<string> {
  const database = await freshPostgresDatabase(server);
  const shared = openSharedDatabase(database, createLogger('warn', process.stderr));
  const compressor = COMPRESSORS[where]();
  try {
    await shared.ready;
    const writer = postgresAuditWriter(postgresAuditStore(shared, compressor), createLogger('warn', process.stderr));
    const cost = await drive(writer, call);
    const rss = process.memoryUsage().rss;
    await writer.close();
    const stored = await shared.run('bench', (pool) => pool.query<{ rows: number; bytes: number }>('SELECT count(*)::int AS rows, avg(octet_length(request) + octet_length(response) + coalesce(octet_length(fetched), 0))::float8 AS bytes FROM hook_invocation'));
    const row = stored.rows[0];
    if (row?.rows !== RECORDS + BURST) throw new Error(`${name}: ${String(row?.rows)} of ${RECORDS + BURST} records stored in PostgreSQL`);
    return [
      `| ${name}`,
      where,
      `${cost.requestThreadUs.toFixed(0)} us`,
      `${cost.eventLoopUs.toFixed(0)} us`,
      `${cost.threadCpuUs.toFixed(0)} us`,
      `${cost.cpuUs.toFixed(0)} us`,
      `${(1e6 / cost.wallUs).toFixed(0)}`,
      `${(row.bytes / 1024).toFixed(1)} KB`,
      `${(rss / 1e6).toFixed(0)} MB |`,
    ].join(' | ');
  } finally {
    await compressor.close();
    await shared.close();
    await dropPostgresDatabase(database, server);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'itcds-bench-audit-'));
  const { pipeline } = loadPipeline(loadConfig({ ...process.env, NODE_ENV: 'development' }));
  const rssAtStart = process.memoryUsage().rss;
  const rows: string[] = [];
  const pgRows: string[] = [];
  const server = await benchPostgres();
  try {
    const cases: [string, Promise<Call>][] = [
      ['seed A', answeredCall(pipeline, fixture('seed-a.order-sign.json'), NOW)],
      ['seed B', answeredCall(pipeline, fixture('seed-b.order-sign.json'), NOW)],
      ['1,000 resources', answeredCall(pipeline, synthetic(1000), NOW)],
      ['seed A, read from the EHR (no prefetch)', readFromEhrCall(pipeline, fixture('seed-a.order-sign.json'), NOW)],
    ];
    for (const [name, answered] of cases) {
      const call = await answered;
      rows.push(await measure(name, call, dir));
      process.stdout.write(`${rows.at(-1) ?? ''}\n`);
      for (const where of Object.keys(COMPRESSORS) as (keyof typeof COMPRESSORS)[]) {
        if (!server.url) break;
        pgRows.push(await measurePostgres(name, call, server.url, where));
        process.stdout.write(`PostgreSQL ${pgRows.at(-1) ?? ''}\n`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    server.stop();
  }
  writeSection('audit', [
    '## The audit log, in process (`npm run bench:audit`)',
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}; ${RECORDS} records per case (after ${BURST} unmeasured) through the audit writer into a file (posted ${BURST} at a time, then waiting for the writer), each the case's request and the service's answer to it. "Request thread per record" is the time \`record()\` takes where the hook was answered; "event loop busy per record" is that thread's whole busy time (Node's event-loop utilisation) over the run, per record, which adds what the writer does there later, and counts the time the thread waited for a core; "event loop thread CPU per record" is the CPU time that thread used (from /proc, in 10 ms ticks), which leaves the waiting out; "CPU per record, whole process" adds the writer thread (Brotli quality 0, the insert) and the collector. The process's RSS was ${(rssAtStart / 1e6).toFixed(0)} MB with the rule pack loaded, before the first case. The last three columns compress the same two bodies once each, in process, as a comparison.`,
    '',
    '| case | request + response (+ reads) | request thread per record | event loop busy per record | event loop thread CPU per record | CPU per record, whole process | stored per record | process RSS after the case | Brotli q0 (used) | gzip level 1 | zstd level 1 |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    server.url
      ? `The same records through the PostgreSQL writer (\`DATABASE_URL\`), into ${server.described}, a database of its own per case, with the pool's defaults. "Brotli" says where the bodies were compressed: in the worker thread the service uses, or on the event loop a couple of milliseconds per turn (the fallback should the worker stop), as a comparison. "CPU per record, this process" counts the service's side (building the rows, Brotli wherever it ran, the driver); the database server's own CPU is not in it. "Records per second" is the writer's pace with ${BURST} posted at a time and waited for, not a ceiling.`
      : `The PostgreSQL writer was not measured: ${server.why ?? 'no server'}.`,
    ...(server.url
      ? ['', '| case | Brotli | request thread per record | event loop busy per record | event loop thread CPU per record | CPU per record, this process | records per second | stored per record | process RSS after the case |', '|---|---|---:|---:|---:|---:|---:|---:|---:|', ...pgRows]
      : []),
  ]);
}

await main();
