/**
 * `npm run bench:feedback-report`: the time and peak memory of `npm run feedback:report` over a store that holds much
 * feedback, as a deployment's does after years. A temporary SQLite store is filled with BENCH_FEEDBACK_CALLS calls in
 * the month reported (seed A's request and the service's answer, each answer's cards with uuids of their own, the
 * first card of each with an override) and BENCH_FEEDBACK_ROWS feedback items in all (the rest on cards of earlier
 * months); the report then runs as staff run it, in a process of its own, which reports its peak resident memory at
 * exit. Bounded: one run per size, in a temporary folder removed after. Writes its table between markers in
 * docs/benchmarks.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config.js';
import type { FeedbackItem } from '../src/hooks/types.js';
import { loadPipeline } from '../src/pipeline.js';
import { auditStore } from '../src/store/audit-store.js';
import type { InvocationRecord } from '../src/store/audit-store.js';
import { openDatabase, openPrivateDatabase } from '../src/store/database.js';
import { feedbackStore } from '../src/store/feedback-store.js';
import { answeredCall } from './bench/calls.js';
import { f } from './bench/numbers.js';
import { writeSection } from './bench/report.js';
import { fixture } from './bench/synthetic.js';

const CALLS = Number(process.env['BENCH_FEEDBACK_CALLS'] ?? '10000');
const SIZES = (process.env['BENCH_FEEDBACK_ROWS'] ?? '0,100000,500000').split(',').map(Number);
const START = Date.parse('2026-10-01T00:00:00Z');
const BATCH = 5000;

/** An override of a card, as the EHR sends it (with a comment, as clinicians often write one). */
const override = (card: string): FeedbackItem => ({
  card,
  outcome: 'overridden',
  overrideReason: { reason: { system: 'https://intrathecal-cds.example/fhir/CodeSystem/override-reason', code: 'dose-confirmed', display: 'Dose confirmed by pump interrogation' }, userComment: 'reviewed with the pump clinic' },
  outcomeTimestamp: '2026-10-01T10:00:00Z',
});

/** Fills a store in a folder of its own: the month's calls, and `rows` feedback items in all. */
async function fill(rows: number, response: string, request: Buffer): Promise<string> {
  const dir = mkdtempSync(join(os.tmpdir(), 'itcds-bench-feedback-'));
  const uuids = [...new Set(response.match(/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/g) ?? [])];
  const auditDb = openPrivateDatabase(join(dir, 'intrathecal-cds-audit.sqlite'), 'NORMAL').db;
  const audit = auditStore(auditDb);
  const firstCards: string[] = [];
  for (let i = 0; i < CALLS; i += 500) {
    const records: InvocationRecord[] = [];
    for (let k = i; k < Math.min(CALLS, i + 500); k++) {
      // Each call's cards get uuids of their own (the answer's, with the call's number in their last part).
      const own = (u: string, n: number): string => `${u.slice(0, 24)}${String(k).padStart(8, '0')}${String(n).padStart(4, '0')}`;
      let text = response;
      uuids.forEach((u, n) => (text = text.replaceAll(u, own(u, n))));
      firstCards.push(own(uuids[0] ?? '', 0));
      records.push({ receivedAt: new Date(START + k * 60_000), requestId: `req-${String(k)}`, serviceId: 'intrathecal-order-sign', hook: 'order-sign', patientId: 'it-seed-a', client: 'https://bench-ehr.example', status: 200, ms: 1, packs: 'intrathecal@bench', delivered: true, request, response: text });
    }
    await audit.recordAll(records);
  }
  auditDb.close();
  const storeDb = openDatabase(join(dir, 'intrathecal-cds.sqlite'));
  const feedback = feedbackStore(storeDb);
  for (let i = 0; i < rows; i += BATCH) {
    const items = Array.from({ length: Math.min(BATCH, rows - i) }, (_, k) => override(firstCards[i + k] ?? `00000000-0000-4000-8000-${String(i + k).padStart(12, '0')}`));
    await feedback.save('intrathecal-order-sign', items, new Date(START));
  }
  storeDb.close();
  return dir;
}

/** Runs the report over a filled store: its time and the peak resident memory of its process. */
function report(dir: string): { seconds: number; maxRssMb: number; overridden: string } {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', './scripts/bench/print-max-rss.mjs', 'scripts/feedback-report.ts', '--since', '2026-10-01', '--until', '2026-11-01'], {
    env: { ...process.env, STORE_PATH: join(dir, 'intrathecal-cds.sqlite'), AUDIT_STORE_PATH: join(dir, 'intrathecal-cds-audit.sqlite'), DATABASE_URL: '' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) throw new Error(`the report failed: ${run.stderr}`);
  const kb = Number(/maxRSS (\d+)/.exec(run.stderr)?.[1]);
  // The overrides the report counted, as a check that it matched the feedback to the month's cards.
  const overridden = /\| (\d+) \| \d+ \| [^|]*dose-confirmed/.exec(run.stdout)?.[1] ?? '0';
  return { seconds, maxRssMb: kb / 1024, overridden };
}

async function main(): Promise<void> {
  const { pipeline } = loadPipeline(loadConfig({ ...process.env, NODE_ENV: 'development' }));
  const call = await answeredCall(pipeline, fixture('seed-a.order-sign.json'), new Date('2026-11-20T15:00:00Z'));
  const results: string[] = [];
  for (const rows of SIZES) {
    const dir = await fill(rows, call.response, call.request);
    try {
      const r = report(dir);
      process.stdout.write(`${f(rows)} feedback items: ${JSON.stringify(r)}\n`);
      results.push(`| ${f(rows)} | ${f(Math.min(rows, CALLS))} | ${f(Number(r.overridden))} | ${f(r.seconds, 2)} | ${f(r.maxRssMb)} |`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  writeSection('feedback-report', [
    '## The feedback report over much feedback (`npm run bench:feedback-report`)',
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${String(os.cpus().length)} x ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}; SQLite store. The month reported holds ${f(CALLS)} calls (seed A's request and answer, ${f(call.response.length / 1024, 1)} KB), the first card of each overridden; the other feedback items are on cards of earlier months. Each row is one run of \`npm run feedback:report\` in a process of its own: its wall time (tsx's start and the script's imports included) and its peak resident memory.`,
    '',
    '| feedback items stored | of them on the month\'s cards | overrides the report counted | time, s | peak memory, MB |',
    '|---:|---:|---:|---:|---:|',
    ...results,
    '',
    'Until session 43 the report read every feedback item stored and held every card of the period to match them: by hand that session, 500,000 items took 2.44 s and 950 MB (0.23 s and 102 MB since, on the same store with no calls in the period). It now reads the feedback of one page of 200 calls at a time, by their cards, and counts the rest.',
  ]);
}

await main();
