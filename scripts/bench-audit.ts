/**
 * `npm run bench:audit`: what recording one hook call in the audit log costs, in process, for the seeds' calls and
 * a 1,000-resource record: the request thread's share (building the row and posting it), the whole process's CPU
 * (the writer thread's compression and insert included), the stored size, and the compressors Node ships for the
 * same bodies, so the report can say where the cost of the audit log goes. Bounded: a fixed number of records per
 * case, written to a temporary file. Writes its table between markers in docs/benchmarks.md.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync, zstdCompressSync } from 'node:zlib';
import { auditWriter } from '../src/audit/audit-writer.js';
import { loadConfig } from '../src/config.js';
import { handleHook } from '../src/hooks/handle-hook.js';
import { createLogger } from '../src/log.js';
import { loadPipeline } from '../src/pipeline.js';
import type { HookPipeline } from '../src/hooks/handle-hook.js';
import { auditStore } from '../src/store/audit-store.js';
import { openPrivateDatabase } from '../src/store/database.js';
import { fixture, synthetic } from './bench/synthetic.js';

const RECORDS = Number(process.env['BENCH_AUDIT_RECORDS'] ?? '3000');
/** Records posted before waiting for the writer: a busy second's worth, so the queue stays as short as in service. */
const BURST = 100;
const REPORT = 'docs/benchmarks.md';
const BEGIN = '<!-- bench:audit begin -->';
const END = '<!-- bench:audit end -->';
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

async function measure(pipeline: HookPipeline, name: string, body: unknown, dir: string): Promise<string> {
  const response = JSON.stringify(await handleHook(pipeline, 'intrathecal-order-sign', body, NOW));
  const request = Buffer.from(JSON.stringify(body));
  const path = join(dir, `${name.replace(/\W+/g, '-')}.sqlite`);
  const { db } = openPrivateDatabase(path, 'NORMAL');
  const store = auditStore(db);
  const writer = auditWriter(store, path, createLogger('warn', process.stderr));
  const record = (i: number): void => writer.record({
    receivedAt: new Date(), requestId: `bench-${i}`, serviceId: 'intrathecal-order-sign', hook: 'order-sign',
    hookInstance: `bench-${i}`, patientId: 'bench', client: 'https://bench-ehr.example', status: 200, ms: 1,
    packs: 'intrathecal@bench', delivered: true, request: Buffer.from(request), response,
  });
  // Warm-up (the worker's start, the first compilations), not measured.
  for (let i = 0; i < BURST; i++) record(-1 - i);
  await writer.idle();
  const cpuBefore = process.cpuUsage();
  let onRequestThread = 0n;
  for (let i = 0; i < RECORDS; i++) {
    const started = process.hrtime.bigint();
    record(i);
    onRequestThread += process.hrtime.bigint() - started;
    if (i % BURST === BURST - 1) await writer.idle();
  }
  await writer.idle();
  const cpu = process.cpuUsage(cpuBefore);
  const rss = process.memoryUsage().rss;
  await writer.close();
  const stored = db.prepare('SELECT count(*) AS rows, avg(length(request) + length(response)) AS bytes FROM hook_invocation').get() as { rows: number; bytes: number };
  db.close();
  if (stored.rows !== RECORDS + BURST) throw new Error(`${name}: ${stored.rows} of ${RECORDS + BURST} records stored`);
  const q0 = { params: { [constants.BROTLI_PARAM_QUALITY]: 0 } };
  const zstd1 = { params: { [constants.ZSTD_c_compressionLevel]: 1 } };
  return [
    `| ${name}`,
    `${((request.length + response.length) / 1024).toFixed(1)} KB`,
    `${(Number(onRequestThread) / 1e3 / RECORDS).toFixed(0)} us`,
    `${((cpu.user + cpu.system) / RECORDS).toFixed(0)} us`,
    `${(stored.bytes / 1024).toFixed(1)} KB`,
    `${(rss / 1e6).toFixed(0)} MB`,
    compressor(request, response, (b) => brotliCompressSync(b, q0)),
    compressor(request, response, (b) => gzipSync(b, { level: 1 })),
    `${compressor(request, response, (b) => zstdCompressSync(b, zstd1))} |`,
  ].join(' | ');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'itcds-bench-audit-'));
  const { pipeline } = loadPipeline(loadConfig({ ...process.env, NODE_ENV: 'development' }));
  const rssAtStart = process.memoryUsage().rss;
  const rows: string[] = [];
  try {
    for (const [name, body] of [
      ['seed A', fixture('seed-a.order-sign.json')],
      ['seed B', fixture('seed-b.order-sign.json')],
      ['1,000 resources', synthetic(1000)],
    ] as const) {
      rows.push(await measure(pipeline, name, body, dir));
      process.stdout.write(`${rows.at(-1) ?? ''}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const section = [
    BEGIN,
    '## The audit log, in process (`npm run bench:audit`)',
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}; ${RECORDS} records per case (after ${BURST} unmeasured) through the audit writer into a file (posted ${BURST} at a time, then waiting for the writer), each the case's request and the service's answer to it. "Request thread per record" is the time \`record()\` takes where the hook was answered; "CPU per record, whole process" adds the writer thread (Brotli quality 0, the insert) and the collector. The process's RSS was ${(rssAtStart / 1e6).toFixed(0)} MB with the rule pack loaded, before the first case. The last three columns compress the same two bodies once each, in process, as a comparison.`,
    '',
    '| case | request + response | request thread per record | CPU per record, whole process | stored per record | process RSS after the case | Brotli q0 (used) | gzip level 1 | zstd level 1 |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    END,
  ].join('\n');
  const report = existsSync(REPORT) ? readFileSync(REPORT, 'utf8') : '';
  const begin = report.indexOf(BEGIN);
  const end = report.indexOf(END);
  const next = begin >= 0 && end > begin ? report.slice(0, begin) + section + report.slice(end + END.length) : `${report.trimEnd()}\n\n${section}\n`;
  writeFileSync(REPORT, next);
}

await main();
