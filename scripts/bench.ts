/**
 * `npm run bench`: the service's production build against a bare node:http baseline, same machine, same run, same
 * load from a separate process on loopback (autocannon), bounded in time. Scenarios: both seeds with full prefetch,
 * seed A with JWT verification, order-select, no prefetch (embedded FHIR server), 1,000 and 10,000 resources.
 * Then: the HTTP shell alone (evaluation replaced by a fixed answer); latency at half the service's peak under
 * steady arrivals, on a fresh service never forced to collect; a soak for memory on another, whose heap is probed;
 * cold start; 1 vs 2 processes. Writes the report between markers in docs/benchmarks.md.
 * Times: BENCH_SECONDS per run (10), BENCH_SOAK_SECONDS (300).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fixture, synthetic } from './bench/synthetic.js';
import type { BenchBody } from './bench/synthetic.js';
import { makeKey, signToken } from '../test/support/jwt.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '10');
const SOAK_SECONDS = Number(process.env['BENCH_SOAK_SECONDS'] ?? '300');
const NODE = process.execPath;
const TMP = mkdtempSync(join(os.tmpdir(), 'itcds-bench-'));
const REPORT = 'docs/benchmarks.md';
const BEGIN = '<!-- bench:http begin -->';
const END = '<!-- bench:http end -->';
const log = (line: string): boolean => process.stdout.write(`${line}\n`);

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  p999?: number;
  max?: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  total: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Waits for a line on the child's stdout (the service logs "listening" at level info; keep LOG_LEVEL at info), then
 * stops listening: the service logs a line per request, and a listener left appending to a string and matching it
 * made this process flatten an ever longer string on every chunk, taking a core from the service it measures
 * (the soak's p99 went from about 7 to over 30 ms).
 */
function waitFor(child: ChildProcess, text: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let tail = '';
    const done = (err?: Error): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    const onData = (c: Buffer): void => {
      tail = (tail + c.toString()).slice(-8192);
      if (text.test(tail)) done();
    };
    const onExit = (code: number | null): void => done(new Error(`exited ${String(code)} before ready: ${tail.slice(-500)}`));
    const timer = setTimeout(() => done(new Error(`no ${String(text)} within 60 s`)), 60_000);
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve();
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? '0') / 1024;
}

/** A service started for measuring; `deaths` counts the cluster workers its primary reported dead so far. */
interface StartedService {
  child: ChildProcess;
  base: string;
  deaths: () => number;
}

async function startService(env: Record<string, string>, script = 'dist/main.js', nodeArgs: string[] = []): Promise<StartedService> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(NODE, [...nodeArgs, script], {
    env: { ...process.env, NODE_ENV: 'development', PORT: String(port), PUBLIC_BASE_URL: base, STORE_PATH: join(TMP, `store-${port}.sqlite`), LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '1000000', MAX_BODY_BYTES: String(50 * 1024 * 1024), TRUST_SANDBOX: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // stderr is passed through; a worker that dies and is replaced would otherwise go unnoticed in a measured run.
  let deaths = 0;
  child.stderr?.on('data', (c: Buffer) => {
    process.stderr.write(c);
    deaths += c.toString().match(/worker \d+ exited/g)?.length ?? 0;
  });
  // With the embedded EHR, measuring starts once it has loaded: its second of indexing would otherwise fall into the
  // first run, and the live heap probed after warm-up would not yet hold its definitions. With several workers, once
  // each of them listens.
  const workers = Number(env['WORKERS'] ?? '1');
  await waitFor(child, env['EMBEDDED_FHIR'] === 'false' ? new RegExp(Array(workers).fill('"msg":"listening"').join('[\\s\\S]*')) : /embedded EHR ready/);
  child.stdout?.resume();
  return { child, base, deaths: () => deaths };
}

/** Closed-loop load (autocannon, 10 connections) or, with `steady`, open-loop arrivals at `rate` (steady.mjs). */
async function load(url: string, bodyFile: string, extra: Record<string, unknown> = {}, steady = false): Promise<LoadResult> {
  const child = spawn(NODE, [steady ? 'scripts/bench/steady.mjs' : 'scripts/bench/load.mjs', JSON.stringify({ url, bodyFile, duration: SECONDS, ...extra })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((resolve) => child.on('exit', resolve));
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as LoadResult;
}

async function warm(url: string, body: string, headers: Record<string, string> = {}): Promise<string> {
  let text = '';
  for (let i = 0; i < 30; i++) {
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
    text = await res.text();
    if (res.status !== 200) throw new Error(`warm-up got ${res.status} from ${url}: ${text.slice(0, 300)}`);
  }
  return text;
}

const f = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** Least-squares slope of (minutes, MB) samples, in MB per minute. */
function trend(points: readonly [number, number][]): number {
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const mx = mean(points.map((p) => p[0]));
  const my = mean(points.map((p) => p[1]));
  return points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / Math.max(1e-9, points.reduce((a, p) => a + (p[0] - mx) ** 2, 0));
}

interface ProbeEntry {
  kind: string;
  at: number;
  mb: number;
  pause: number;
  newSpaceMb: number;
  externalMb: number;
}

/** The heap probe's lines: kind, when (ms since epoch), heap in use, pause (ms), new space size, external memory (MB). */
function probeEntries(file: string): ProbeEntry[] {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
  const mb = (bytes: string | undefined): number => Number(bytes) / 2 ** 20;
  return lines.map((l) => l.split(' ')).map(([kind = '', at, used, pause, newSpace, external]) => ({ kind, at: Number(at), mb: mb(used), pause: Number(pause), newSpaceMb: mb(newSpace), externalMb: mb(external) }));
}

/** The range of a figure over collections, as "a-b" (one decimal). */
function range(entries: readonly ProbeEntry[], pick: (e: ProbeEntry) => number): string {
  const values = entries.map(pick);
  return `${f(Math.min(...values), 1)}-${f(Math.max(...values), 1)}`;
}

/** What the collector looked like at a set of full collections: pauses, young generation and external memory. */
function atCollections(entries: readonly ProbeEntry[]): string {
  return `pauses ${range(entries, (e) => e.pause)} ms, new space ${range(entries, (e) => e.newSpaceMb)} MB, external memory ${range(entries, (e) => e.externalMb)} MB`;
}

/**
 * The service's own full collections in a time window, as a phrase: how many, and the ranges of their pauses, young
 * generation and external memory.
 * @param file - the heap probe's file.
 * @param from - window start, ms since epoch.
 * @param to - window end.
 */
function collections(file: string, from: number, to: number): string {
  const own = probeEntries(file).filter((e) => e.kind === 'major' && e.at >= from && e.at <= to);
  if (own.length === 0) return 'no full collection during the measured run';
  return `${own.length} full collection${own.length === 1 ? '' : 's'} during the measured run: ${atCollections(own)}`;
}

/**
 * The heap probe's record as a sentence: the forced collections before the settle run and after the soak, and the
 * service's own full collections during the soak.
 * @param file - the probe's file.
 * @param probedFrom - a time just after the first forced collection.
 * @param soakStart - when the soak's load started.
 * @param requests - requests answered between the two forced collections.
 */
function heapAfterSoak(file: string, probedFrom: number, soakStart: number, requests: number): string {
  const entries = probeEntries(file);
  const forced = entries.filter((e) => e.kind === 'forced');
  const [before, after] = [forced.at(-2), forced.at(-1)];
  if (!before || !after || before.at > probedFrom || after.at < soakStart) return 'not recorded (the heap probe did not answer).';
  const own = entries.filter((e) => e.kind === 'major' && e.at > soakStart && e.at < after.at);
  const perRequest = ((after.mb - before.mb) * 2 ** 20) / Math.max(1, requests);
  const ownTrend = own.length >= 3 ? `, trend ${f(trend(own.map((e) => [(e.at - soakStart) / 60_000, e.mb])), 2)} MB/min` : '';
  const ownPart = own.length === 0 ? 'the service did no full collection of its own during the soak' : `after the service's own ${own.length} full collections during the soak: ${own.map((e) => f(e.mb, 1)).join(', ')} MB${ownTrend}; at those collections ${atCollections(own)}`;
  return `${f(before.mb, 1)} MB after warm-up, ${f(after.mb, 1)} MB after the soak, ${f(requests)} requests later (${f(perRequest, 1)} bytes per request); ${ownPart}.`;
}

async function main(): Promise<void> {
  if (!existsSync('dist/main.js')) throw new Error('run npm run build first (npm run bench does)');
  const key = await makeKey('ES384');
  const clientsFile = join(TMP, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify([{ iss: 'https://bench-ehr.example', jwks: { keys: [key.publicJwk] }, fhirServers: [] }]));
  const serviceEnv = { CDS_CLIENTS_FILE: clientsFile, ALLOW_UNAUTHENTICATED: 'true' };
  const svc = await startService(serviceEnv);
  const pid = svc.child.pid ?? 0;
  const selectBody = fixture('seed-a.order-sign.json');
  const scenarios: { name: string; path: string; body: BenchBody; jwt?: boolean }[] = [
    { name: 'seed A order-sign, full prefetch', path: 'intrathecal-order-sign', body: fixture('seed-a.order-sign.json') },
    { name: 'seed B order-sign, full prefetch', path: 'intrathecal-order-sign', body: fixture('seed-b.order-sign.json') },
    { name: 'seed A order-sign, full prefetch, ES384 JWT verified', path: 'intrathecal-order-sign', body: fixture('seed-a.order-sign.json'), jwt: true },
    { name: 'seed A order-select', path: 'intrathecal-order-select', body: { ...selectBody, hook: 'order-select', context: { ...selectBody.context, selections: ['MedicationRequest/it-seed-a-draft-morphine'] } } },
    { name: 'seed A order-sign, no prefetch (embedded FHIR server)', path: 'intrathecal-order-sign', body: { ...fixture('seed-a.order-sign.no-prefetch.json'), fhirServer: `${svc.base}/fhir` } },
    { name: 'seed A + 1,000 resources, full prefetch', path: 'intrathecal-order-sign', body: synthetic(1000) },
    { name: 'seed A + 10,000 resources, full prefetch', path: 'intrathecal-order-sign', body: synthetic(10000) },
  ];
  const responses: Record<string, string> = {};
  for (const [i, s] of scenarios.entries()) {
    const file = join(TMP, `body-${i}.json`);
    writeFileSync(file, JSON.stringify(s.body));
    // Warm-up calls go unauthenticated (allowed in development): a JWT may be used once only.
    responses[`s${i}`] = await warm(`${svc.base}/cds-services/${s.path}`, JSON.stringify(s.body));
    (s as { file?: string }).file = file;
    log(`${s.name}: request ${f(Buffer.byteLength(JSON.stringify(s.body)) / 1024, 1)} KB, response ${f(Buffer.byteLength(responses[`s${i}`] ?? '') / 1024, 1)} KB`);
  }
  const responsesFile = join(TMP, 'responses.json');
  writeFileSync(responsesFile, JSON.stringify(responses));
  const basePort = await freePort();
  const baseline = spawn(NODE, ['scripts/bench/baseline.mjs', responsesFile, String(basePort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await waitFor(baseline, /ready/);

  const rows: string[] = [];
  let seedPeak = 0;
  for (const [i, s] of scenarios.entries()) {
    const file = (s as { file?: string }).file ?? '';
    let tokensFile: string | undefined;
    if (s.jwt) {
      const tokens: string[] = [];
      for (let t = 0; t < Math.max(2000, SECONDS * 400); t++) tokens.push(await signToken(key, { iss: 'https://bench-ehr.example', aud: `${svc.base}/cds-services/${s.path}` }));
      tokensFile = join(TMP, 'tokens.json');
      writeFileSync(tokensFile, JSON.stringify(tokens));
    }
    const service = await load(`${svc.base}/cds-services/${s.path}`, file, tokensFile ? { tokensFile } : {});
    const bare = await load(`http://127.0.0.1:${basePort}/s${i}`, file);
    if (i === 0) seedPeak = service.rps;
    const bad = service.non2xx + service.errors + service.timeouts;
    rows.push(`| ${s.name} | ${f(service.rps)} | ${f(service.p50, 1)} | ${f(service.p99, 1)} | ${f(bare.rps)} | ${f(bare.p50, 1)} | ${f(bare.p99, 1)} | ${f((service.rps / bare.rps) * 100, 1)} % | ${bad} |`);
    log(rows.at(-1) ?? '');
  }
  const peakRss = rssMb(pid, 'VmHWM');
  const seedFile = (scenarios[0] as { file?: string }).file ?? '';

  // The same application with its evaluation replaced by a fixed answer: what the HTTP shell alone allows.
  const shell = await startService({ EMBEDDED_FHIR: 'false', ALLOW_UNAUTHENTICATED: 'true' }, 'scripts/bench/shell.mjs');
  await warm(`${shell.base}/cds-services/intrathecal-order-sign`, JSON.stringify(scenarios[0]?.body));
  const shellLoad = await load(`${shell.base}/cds-services/intrathecal-order-sign`, seedFile);
  const shellBare = await load(`http://127.0.0.1:${basePort}/s0`, seedFile);
  await stop(shell.child);
  rows.push(`| seed A order-sign, the service's HTTP shell alone (evaluation replaced by its first answer) | ${f(shellLoad.rps)} | ${f(shellLoad.p50, 1)} | ${f(shellLoad.p99, 1)} | ${f(shellBare.rps)} | ${f(shellBare.p50, 1)} | ${f(shellBare.p99, 1)} | ${f((shellLoad.rps / shellBare.rps) * 100, 1)} % | ${shellLoad.non2xx + shellLoad.errors} |`);
  log(rows.at(-1) ?? '');

  await stop(svc.child);

  // Latency at half of the service's own peak on the first scenario, on a fresh service of the same configuration
  // warmed on that request (the heap then holds what this load leaves, not the 10,000-resource bodies before it) and
  // never forced to collect: a forced full collection stalls the seconds after it, and two forced services have been
  // found collecting every few seconds to the end (cause not found; see docs/benchmarks.md, session 7). Its own full
  // collections are only observed (heap-probe.mjs without --expose-gc). Steady arrivals are the measure; autocannon's per-second rate limit is kept for comparison with
  // the earlier reports (bursts at each second's start).
  const half = Math.max(1, Math.round(seedPeak / 2));
  const tailGcFile = join(TMP, 'tail-gc.txt');
  const tailSvc = await startService({ ...serviceEnv, BENCH_HEAP_FILE: tailGcFile }, 'dist/main.js', ['--import', './scripts/bench/heap-probe.mjs']);
  const tailUrl = `${tailSvc.base}/cds-services/intrathecal-order-sign`;
  await warm(tailUrl, JSON.stringify(scenarios[0]?.body));
  await load(tailUrl, seedFile, { rate: half }, true);
  const measuredFrom = Date.now();
  const halfLoad = await load(tailUrl, seedFile, { rate: half }, true);
  const tailGc = collections(tailGcFile, measuredFrom, Date.now());
  const halfBursts = await load(tailUrl, seedFile, { rate: half });
  await stop(tailSvc.child);
  const halfBare = await load(`http://127.0.0.1:${basePort}/s0`, seedFile, { rate: half }, true);
  log(`half peak (${half} req/s): steady p50 ${halfLoad.p50} ms, p99 ${halfLoad.p99} ms (${tailGc}); autocannon rate p99 ${halfBursts.p99} ms; bare p99 ${halfBare.p99} ms`);

  // Memory over a soak at half peak, on its own service (with the heap probe and --expose-gc): RSS every 10 s, the
  // live heap after each full collection the service does on its own, and forced collections before and after the
  // soak. An unmeasured run after the first forced collection lets the heap regrow before the soak starts.
  const heapFile = join(TMP, 'heap.txt');
  const soakSvc = await startService({ ...serviceEnv, BENCH_HEAP_FILE: heapFile }, 'dist/main.js', ['--expose-gc', '--import', './scripts/bench/heap-probe.mjs']);
  const soakUrl = `${soakSvc.base}/cds-services/intrathecal-order-sign`;
  await warm(soakUrl, JSON.stringify(scenarios[0]?.body));
  const forceGc = async (): Promise<void> => {
    soakSvc.child.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 2000));
  };
  await forceGc();
  const heapFrom = Date.now();
  const settle = await load(soakUrl, seedFile, { rate: half }, true);
  const samples: [number, number][] = [];
  const soakStart = Date.now();
  const soak = spawn(NODE, ['scripts/bench/steady.mjs', JSON.stringify({ url: soakUrl, bodyFile: seedFile, duration: SOAK_SECONDS, rate: half })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let soakOut = '';
  soak.stdout.on('data', (c: Buffer) => (soakOut += c.toString()));
  const timer = setInterval(() => samples.push([(Date.now() - soakStart) / 60_000, rssMb(soakSvc.child.pid ?? 0, 'VmRSS')]), 10_000);
  await new Promise((resolve) => soak.on('exit', resolve));
  clearInterval(timer);
  await forceGc();
  const soakResult = JSON.parse(soakOut.trim().split('\n').pop() ?? '{}') as LoadResult;
  const settled = samples.slice(Math.min(3, Math.floor(samples.length / 3)));
  const slope = trend(settled);
  log(`soak ${SOAK_SECONDS} s at ${half} req/s: RSS ${f(settled[0]?.[1] ?? 0)} -> ${f(settled.at(-1)?.[1] ?? 0)} MB, slope ${f(slope, 2)} MB/min`);
  const sinceFirstProbe = [settle, soakResult].reduce((n, r) => n + (r.total ?? 0), 0);
  const heap = heapAfterSoak(heapFile, heapFrom, soakStart, sinceFirstProbe);
  log(`soak live heap: ${heap}`);
  await stop(soakSvc.child);
  await stop(baseline);

  // Cold start: process start to the first answered hook, three times each without and with the embedded EHR.
  const coldRuns: Record<string, number[]> = { production: [], embedded: [], ehrReady: [] };
  for (let i = 0; i < 6; i++) {
    const shape = i % 2 === 0 ? 'production' : 'embedded';
    const port = await freePort();
    const t0 = Date.now();
    const child = spawn(NODE, ['dist/main.js'], { env: { ...process.env, NODE_ENV: 'development', PORT: String(port), STORE_PATH: join(TMP, `cold-${i}.sqlite`), LOG_LEVEL: 'info', EMBEDDED_FHIR: String(shape === 'embedded') }, stdio: ['ignore', 'pipe', 'ignore'] });
    // With the embedded EHR, hooks are answered while it loads; when it is ready is read off its log line.
    const ehrReady = shape === 'embedded' ? waitFor(child, /embedded EHR ready/).then(() => Date.now() - t0) : undefined;
    child.stdout?.resume();
    const body = JSON.stringify(fixture('seed-a.order-sign.json'));
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/cds-services/intrathecal-order-sign`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
        if (res.status === 200) break;
      } catch {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    coldRuns[shape]?.push(Date.now() - t0);
    if (ehrReady) coldRuns['ehrReady']?.push(await ehrReady);
    await stop(child);
  }
  log(`cold start: without embedded EHR ${coldRuns['production']?.join(', ')} ms; with it ${coldRuns['embedded']?.join(', ')} ms`);

  // One process, then two (Node cluster), full-prefetch seed A.
  const scale: LoadResult[] = [];
  let workerDeaths = 0;
  for (const workers of [1, 2]) {
    const s = await startService({ WORKERS: String(workers), EMBEDDED_FHIR: 'false' });
    await warm(`${s.base}/cds-services/intrathecal-order-sign`, JSON.stringify(scenarios[0]?.body));
    scale.push(await load(`${s.base}/cds-services/intrathecal-order-sign`, seedFile));
    workerDeaths += s.deaths();
    await stop(s.child);
  }
  const scaleVoid = workerDeaths > 0 ? ` VOID: ${workerDeaths} worker(s) died and were replaced during these runs (see the bench's stderr).` : '';
  log(`1 process ${f(scale[0]?.rps ?? 0)} req/s, 2 processes ${f(scale[1]?.rps ?? 0)} req/s${scaleVoid}`);

  const cpu = os.cpus();
  const section = [
    BEGIN,
    '## HTTP, service vs bare node:http (`npm run bench`)',
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${cpu.length} x ${cpu[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}; the service's production build (\`npm run build\`, \`node dist/main.js\`, development mode so the embedded FHIR server and unauthenticated calls are on, log level info to a pipe); autocannon 9, 10 connections, ${SECONDS} s per run after 30 warm-up calls, load generator in its own process on the same 2 cores. The baseline reads the same body, parses it and answers a response of the same size without evaluating anything.`,
    '',
    '| scenario | service req/s | p50 ms | p99 ms | baseline req/s | p50 ms | p99 ms | service / baseline | non-2xx, errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `- Peak RSS of the service over these runs: ${f(peakRss)} MB.`,
    `- Latency at half of the service's own peak on seed A, ${half} req/s arriving at a steady pace (\`scripts/bench/steady.mjs\`, measured from when each request was due): p50 ${halfLoad.p50} ms, p99 ${halfLoad.p99} ms, p99.9 ${halfLoad.p999 ?? 0} ms (${halfLoad.non2xx + halfLoad.errors + halfLoad.timeouts} failed), on a service never forced to collect (${tailGc}). The bare server under the same arrivals: p50 ${halfBare.p50} ms, p99 ${halfBare.p99} ms. With autocannon's rate limit instead (each connection's per-second quota sent back to back, as in earlier reports): p50 ${halfBursts.p50} ms, p99 ${halfBursts.p99} ms.`,
    `- Soak: ${SOAK_SECONDS} s at ${half} req/s, steady arrivals (${f(soakResult.total ?? 0)} requests, ${soakResult.non2xx ?? 0} non-2xx, p99 ${soakResult.p99 ?? 0} ms); RSS ${f(settled[0]?.[1] ?? 0)} MB after warm-up, ${f(settled.at(-1)?.[1] ?? 0)} MB at the end, trend ${f(slope, 2)} MB/min over ${samples.length} samples (MB, every 10 s: ${samples.map((x) => f(x[1])).join(', ')}).`,
    `- Live heap over the same soak (\`scripts/bench/heap-probe.mjs\`, heap in use after a full collection): ${heap}`,
    `- Cold start (process start to the first answered order-sign with the full rule pack): ${coldRuns['production']?.join(', ')} ms without the embedded EHR (the production shape); ${coldRuns['embedded']?.join(', ')} ms with it (the development default; its EHR, which indexes the FHIR R4 definitions and loads the fixtures, was ready at ${coldRuns['ehrReady']?.join(', ')} ms).`,
    `- Scale on one machine (Node cluster, \`WORKERS\`), seed A full prefetch: 1 process ${f(scale[0]?.rps ?? 0)} req/s (p99 ${scale[0]?.p99 ?? 0} ms), 2 processes ${f(scale[1]?.rps ?? 0)} req/s (p99 ${scale[1]?.p99 ?? 0} ms), x${f((scale[1]?.rps ?? 0) / Math.max(1, scale[0]?.rps ?? 1), 2)}; the load generator shares the 2 cores.${scaleVoid}`,
    END,
  ].join('\n');
  const existing = existsSync(REPORT) ? readFileSync(REPORT, 'utf8') : '# Benchmarks\n';
  writeFileSync(REPORT, existing.includes(BEGIN) ? existing.replace(new RegExp(`${BEGIN}[\\s\\S]*?${END}`), section) : `${existing.trimEnd()}\n\n${section}\n`);
  log(`wrote ${REPORT}`);
}

await main();
