/**
 * `npm run bench:engine`: in-process evaluation time per request, without HTTP, for the fixture requests and for
 * a synthetic patient with 1,000 and 10,000 resources, so the growth with record size is visible. Two measures:
 * the hook path (parse, assemble from prefetch, evaluate, compose, wire JSON) and the evaluator alone. Also how long
 * a reload of the rules (SIGHUP) holds the process, during which calls wait.
 * Writes its table between markers in docs/benchmarks.md. Bounded: a fixed time per scenario.
 */
import os from 'node:os';
import { loadConfig } from '../src/config.js';
import { assembleData } from '../src/hooks/assemble-data.js';
import { findService, handleHook } from '../src/hooks/handle-hook.js';
import { parseHookRequest } from '../src/hooks/parse-request.js';
import { createLogger } from '../src/log.js';
import { loadPipeline } from '../src/pipeline.js';
import { CurrentRules } from '../src/reload/current-rules.js';
import { fixture, synthetic } from './bench/synthetic.js';
import type { BenchBody } from './bench/synthetic.js';
import { writeSection } from './bench/report.js';

const NOW = new Date('2026-11-20T15:00:00Z');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '3');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

async function measure(fn: () => unknown): Promise<{ n: number; median: number; p99: number }> {
  const warm = Date.now() + 300;
  while (Date.now() < warm) await fn();
  const times: number[] = [];
  const end = Date.now() + SECONDS * 1000;
  while (Date.now() < end) {
    const t = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { n: times.length, median: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

async function main(): Promise<void> {
  const config = loadConfig({ NODE_ENV: 'test' });
  const { pipeline, packs } = loadPipeline(config);
  // The whole reload: read, schema-check, compile and dry-run the packs, compare them with the current ones. The first
  // one is timed before anything else has run (a reload soon after a start, code not yet optimised), then warm ones.
  const rules = new CurrentRules(() => loadPipeline(config), createLogger('silent', { maxBufferBytes: 1 }));
  const firstReload = process.hrtime.bigint();
  rules.reload();
  const firstReloadMs = Number(process.hrtime.bigint() - firstReload) / 1e6;
  const scenarios: [string, BenchBody][] = [
    ['seed A order-sign (full prefetch, 14 resources)', fixture('seed-a.order-sign.json')],
    ['seed B order-sign (full prefetch, 20 resources)', fixture('seed-b.order-sign.json')],
    ['seed A + 1,000 resources', synthetic(1000)],
    ['seed A + 10,000 resources', synthetic(10000)],
  ];
  const rows: string[] = [];
  for (const [name, body] of scenarios) {
    const hook = await measure(() => handleHook(pipeline, 'intrathecal-order-sign', body, NOW));
    const service = findService(pipeline, 'intrathecal-order-sign');
    const request = parseHookRequest(body, service);
    const data = await assembleData(service, request, { deadlineMs: 1000 });
    const evaluate = await measure(() => pipeline.evaluate({ service, request, data, now: NOW }));
    rows.push(`| ${name} | ${hook.median.toFixed(2)} | ${hook.p99.toFixed(2)} | ${evaluate.median.toFixed(2)} | ${evaluate.p99.toFixed(2)} | ${evaluate.n} |`);
    process.stdout.write(`${rows.at(-1) ?? ''}\n`);
  }
  const reload = await measure(() => rules.reload());
  const reloadLine = `Reloading the rules (SIGHUP: read, check and compile the packs and THRESHOLDS_FILE, compare with the current ones; the process answers no call meanwhile): the first, just after the packs were loaded, ${firstReloadMs.toFixed(0)} ms; then median ${reload.median.toFixed(0)} ms, p99 ${reload.p99.toFixed(0)} ms over ${String(reload.n)} reloads.`;
  process.stdout.write(`${reloadLine}\n`);
  const pack = packs.map((p) => `${p.id} ${p.version} (${p.rules.length} rules, ${p.criteria.size} criteria)`).join(', ');
  writeSection('engine', [
    '## Engine, in process (`npm run bench:engine`)',
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; rule pack ${pack}; ${SECONDS} s per scenario after a 0.3 s warm-up.`,
    '"Hook path" is parse + assemble (from prefetch) + evaluate + compose + wire JSON; "evaluator" is evaluation and card composition alone. Times in ms per request.',
    '',
    '| scenario | hook path median | hook path p99 | evaluator median | evaluator p99 | evaluator runs |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    reloadLine,
  ]);
}

await main();
