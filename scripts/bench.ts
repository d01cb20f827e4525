/**
 * `npm run bench`: the service's production build against a bare node:http baseline, same machine, same run, same
 * load from a separate process on loopback (autocannon), bounded in time. Scenarios: both seeds with full prefetch,
 * seed A with JWT verification, order-select, no prefetch (embedded FHIR server), 1,000 and 10,000 resources.
 * Then: the HTTP shell alone (evaluation replaced by a fixed answer); latency at half the service's peak under
 * steady arrivals, on a fresh service never forced to collect; a soak for memory on another, whose heap is probed;
 * cold start; 1 vs 2 processes. Writes the report between markers in docs/benchmarks.md.
 * Times: BENCH_SECONDS per run (10), BENCH_TAIL_SECONDS for the latency at half peak (60), BENCH_SOAK_SECONDS (300).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { f, trend } from './bench/numbers.js';
import { collections, heapAfterSoak, liveHeapIn } from './bench/probe.js';
import { freePort, load, NODE, SECONDS, startService, stop, TMP, waitFor, warm } from './bench/processes.js';
import { cpuMs, resetPeakRss, rssMb } from './bench/proc.js';
import type { LoadResult } from './bench/processes.js';
import { fixture, synthetic } from './bench/synthetic.js';
import type { BenchBody } from './bench/synthetic.js';
import { makeKey, signToken } from '../test/support/jwt.js';
import { loadServiceDefinitions } from '../src/services/service-definitions.js';
import { writeSection } from './bench/report.js';

const SOAK_SECONDS = Number(process.env['BENCH_SOAK_SECONDS'] ?? '300');
// A p99 over 10 s at a few hundred req/s is set by a few dozen answers, so one slow second of the machine moves it.
const TAIL_SECONDS = Number(process.env['BENCH_TAIL_SECONDS'] ?? '60');
const log = (line: string): boolean => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  if (!existsSync('dist/main.js')) throw new Error('run npm run build first (npm run bench does)');
  const key = await makeKey('ES384');
  const clientsFile = join(TMP, 'clients.json');
  writeFileSync(clientsFile, JSON.stringify([{ iss: 'https://bench-ehr.example', jwks: { keys: [key.publicJwk] }, fhirServers: [] }]));
  const serviceEnv = { CDS_CLIENTS_FILE: clientsFile, ALLOW_UNAUTHENTICATED: 'true' };
  // The measured service's own full collections are observed (never forced), for the live heap of each run.
  const mainGcFile = join(TMP, 'main-gc.txt');
  const svc = await startService({ ...serviceEnv, BENCH_HEAP_FILE: mainGcFile }, 'dist/main.js', ['--import', './scripts/bench/heap-probe.mjs']);
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
  // The bare server answers each scenario with a response of the service's size, taken from a service of the same
  // configuration that is then stopped: the measured service is warmed on each scenario just before its run, so
  // the seed runs' memory is not what the 10,000-resource warm-ups would have left.
  const responses: Record<string, string> = {};
  const sizer = await startService(serviceEnv);
  for (const [i, s] of scenarios.entries()) {
    const file = join(TMP, `body-${i}.json`);
    writeFileSync(file, JSON.stringify(s.body));
    responses[`s${i}`] = await warm(`${sizer.base}/cds-services/${s.path}`, JSON.stringify(s.body), {}, 1);
    (s as { file?: string }).file = file;
    log(`${s.name}: request ${f(Buffer.byteLength(JSON.stringify(s.body)) / 1024, 1)} KB, response ${f(Buffer.byteLength(responses[`s${i}`] ?? '') / 1024, 1)} KB`);
  }
  await stop(sizer.child);
  const responsesFile = join(TMP, 'responses.json');
  writeFileSync(responsesFile, JSON.stringify(responses));
  const basePort = await freePort();
  const baseline = spawn(NODE, ['scripts/bench/baseline.mjs', responsesFile, String(basePort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await waitFor(baseline, /ready/);

  const rows: string[] = [];
  let seedPeak = 0;
  let peakRss = 0;
  let peakNotReset = false;
  for (const [i, s] of scenarios.entries()) {
    const file = (s as { file?: string }).file ?? '';
    let tokensFile: string | undefined;
    if (s.jwt) {
      const tokens: string[] = [];
      for (let t = 0; t < Math.max(2000, SECONDS * 400); t++) tokens.push(await signToken(key, { iss: 'https://bench-ehr.example', aud: `${svc.base}/cds-services/${s.path}` }));
      tokensFile = join(TMP, 'tokens.json');
      writeFileSync(tokensFile, JSON.stringify(tokens));
    }
    // Warm-up calls go unauthenticated (allowed in development): a JWT may be used once only.
    await warm(`${svc.base}/cds-services/${s.path}`, JSON.stringify(s.body));
    // The peak resident memory of this scenario's load: the high-water mark is reset after its warm-up.
    peakRss = Math.max(peakRss, rssMb(pid, 'VmHWM'));
    if (!resetPeakRss(pid)) peakNotReset = true;
    const runFrom = Date.now();
    const service = await load(`${svc.base}/cds-services/${s.path}`, file, tokensFile ? { tokensFile } : {});
    const liveHeap = liveHeapIn(mainGcFile, runFrom, Date.now());
    const scenarioPeak = rssMb(pid, 'VmHWM');
    peakRss = Math.max(peakRss, scenarioPeak);
    const bare = await load(`http://127.0.0.1:${basePort}/s${i}`, file);
    if (i === 0) seedPeak = service.rps;
    const bad = service.non2xx + service.errors + service.timeouts;
    rows.push(`| ${s.name} | ${f(service.rps)} | ${f(service.p50, 1)} | ${f(service.p99, 1)} | ${f(bare.rps)} | ${f(bare.p50, 1)} | ${f(bare.p99, 1)} | ${f((service.rps / bare.rps) * 100, 1)} % | ${bad} | ${f(scenarioPeak)} | ${liveHeap} |`);
    log(rows.at(-1) ?? '');
  }
  const seedFile = (scenarios[0] as { file?: string }).file ?? '';

  // The same application with its evaluation replaced by a fixed answer: what the HTTP shell alone allows.
  const shell = await startService({ EMBEDDED_FHIR: 'false', ALLOW_UNAUTHENTICATED: 'true' }, 'scripts/bench/shell.mjs');
  await warm(`${shell.base}/cds-services/intrathecal-order-sign`, JSON.stringify(scenarios[0]?.body));
  const shellLoad = await load(`${shell.base}/cds-services/intrathecal-order-sign`, seedFile);
  const shellPeak = rssMb(shell.child.pid ?? 0, 'VmHWM');
  const shellBare = await load(`http://127.0.0.1:${basePort}/s0`, seedFile);
  await stop(shell.child);
  rows.push(`| seed A order-sign, the service's HTTP shell alone (evaluation replaced by its first answer) | ${f(shellLoad.rps)} | ${f(shellLoad.p50, 1)} | ${f(shellLoad.p99, 1)} | ${f(shellBare.rps)} | ${f(shellBare.p50, 1)} | ${f(shellBare.p99, 1)} | ${f((shellLoad.rps / shellBare.rps) * 100, 1)} % | ${shellLoad.non2xx + shellLoad.errors} | ${f(shellPeak)} | not probed |`);
  log(rows.at(-1) ?? '');

  // Without prefetch, with the FHIR server in another process (the first service's embedded one), as in a deployment
  // that reads its EHR: the CPU each process spends per hook, read from /proc, says what the service's own FHIR
  // reads cost apart from the server answering them. Fewer connections: the machine has three processes to run.
  const reader = await startService({ ...serviceEnv, EMBEDDED_FHIR: 'false' });
  const remoteFile = join(TMP, 'body-remote.json');
  writeFileSync(remoteFile, JSON.stringify({ ...fixture('seed-a.order-sign.no-prefetch.json'), fhirServer: `${svc.base}/fhir` }));
  const readerUrl = `${reader.base}/cds-services/intrathecal-order-sign`;
  await warm(readerUrl, readFileSync(remoteFile, 'utf8'));
  const [readerCpu, serverCpu] = [cpuMs(reader.child.pid ?? 0), cpuMs(pid)];
  const remote = await load(readerUrl, remoteFile, { connections: 4 });
  const perHook = (before: number, now: number): string => f((now - before) / Math.max(1, remote.total), 2);
  const remoteLine = `${f(remote.rps)} req/s at 4 connections (p50 ${remote.p50} ms, p99 ${remote.p99} ms, ${remote.non2xx + remote.errors + remote.timeouts} failed); CPU per hook: the service ${perHook(readerCpu, cpuMs(reader.child.pid ?? 0))} ms, the FHIR server ${perHook(serverCpu, cpuMs(pid))} ms`;
  log(`no prefetch, FHIR server in another process: ${remoteLine}`);
  await stop(reader.child);
  await stop(svc.child);

  // Latency at half of the service's own peak on the first scenario, on a fresh service of the same configuration
  // warmed on that request (the heap then holds what this load leaves, not the 10,000-resource bodies before it) and
  // never forced to collect: a forced full collection stalls the seconds after it, and two forced services have been
  // found collecting every few seconds to the end (cause not found; see docs/benchmarks-history.md, session 7).
  // Its own full collections are only observed (heap-probe.mjs without --expose-gc). Steady arrivals are the
  // measure; autocannon's per-second rate limit is kept for comparison with the earlier reports (bursts at each
  // second's start).
  const half = Math.max(1, Math.round(seedPeak / 2));
  const tailGcFile = join(TMP, 'tail-gc.txt');
  const tailSvc = await startService({ ...serviceEnv, BENCH_HEAP_FILE: tailGcFile }, 'dist/main.js', ['--import', './scripts/bench/heap-probe.mjs']);
  const tailUrl = `${tailSvc.base}/cds-services/intrathecal-order-sign`;
  await warm(tailUrl, JSON.stringify(scenarios[0]?.body));
  await load(tailUrl, seedFile, { rate: half }, true);
  const measuredFrom = Date.now();
  const halfLoad = await load(tailUrl, seedFile, { rate: half, duration: TAIL_SECONDS }, true);
  const tailGc = collections(tailGcFile, measuredFrom, Date.now());
  const halfBursts = await load(tailUrl, seedFile, { rate: half });
  await stop(tailSvc.child);
  const halfBare = await load(`http://127.0.0.1:${basePort}/s0`, seedFile, { rate: half, duration: TAIL_SECONDS }, true);
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
  const readsPerHook = loadServiceDefinitions('cds-hooks').find((s) => s.hook === 'order-sign')?.prefetch.length ?? 0;
  writeSection('http', [
    '## HTTP, service vs bare node:http (`npm run bench`)',
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${cpu.length} x ${cpu[0]?.model ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}; the service's production build (\`npm run build\`, \`node dist/main.js\`, development mode so the embedded FHIR server and unauthenticated calls are on, log level info to a pipe); autocannon 9, 10 connections, ${SECONDS} s per run after 30 warm-up calls, load generator in its own process on the same 2 cores. The baseline reads the same body, parses it and answers a response of the same size without evaluating anything.`,
    '',
    '| scenario | service req/s | p50 ms | p99 ms | baseline req/s | p50 ms | p99 ms | service / baseline | non-2xx, errors | service peak RSS MB | live heap after full GC, max MB (collections) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `- Peak RSS of the service over these runs: ${f(peakRss)} MB (its warm-up calls included); the last column is each run's own peak, the high-water mark reset after the run's warm-up and before its load (\`/proc/<pid>/clear_refs\`; each scenario is warmed just before its run, so a run carries only the memory of those before it), the shell's that of its own process. The live heap is the heap in use just after each full collection the service made on its own during the run (\`scripts/bench/heap-probe.mjs\`, observed, never forced): what the run kept, where RSS also holds what the collector has not returned.${peakNotReset ? ' NOT RESET: this system refused the reset, so each run shows the peak of every run before it too.' : ''}`,
    `- Seed A order-sign without prefetch, its FHIR server in another process (the first service's embedded one, ${readsPerHook} reads per hook over loopback): ${remoteLine}.`,
    `- Latency at half of the service's own peak on seed A, ${half} req/s arriving at a steady pace for ${TAIL_SECONDS} s (\`scripts/bench/steady.mjs\`, measured from when each request was due): p50 ${halfLoad.p50} ms, p99 ${halfLoad.p99} ms, p99.9 ${halfLoad.p999 ?? 0} ms (${halfLoad.non2xx + halfLoad.errors + halfLoad.timeouts} failed), on a service never forced to collect (${tailGc}). The bare server under the same arrivals: p50 ${halfBare.p50} ms, p99 ${halfBare.p99} ms. With autocannon's rate limit instead (each connection's per-second quota sent back to back, as in earlier reports): p50 ${halfBursts.p50} ms, p99 ${halfBursts.p99} ms.`,
    `- Soak: ${SOAK_SECONDS} s at ${half} req/s, steady arrivals (${f(soakResult.total ?? 0)} requests, ${soakResult.non2xx ?? 0} non-2xx, p99 ${soakResult.p99 ?? 0} ms); RSS ${f(settled[0]?.[1] ?? 0)} MB after warm-up, ${f(settled.at(-1)?.[1] ?? 0)} MB at the end, trend ${f(slope, 2)} MB/min over ${samples.length} samples (MB, every 10 s: ${samples.map((x) => f(x[1])).join(', ')}).`,
    `- Live heap over the same soak (\`scripts/bench/heap-probe.mjs\`, heap in use after a full collection): ${heap}`,
    `- Cold start (process start to the first answered order-sign with the full rule pack): ${coldRuns['production']?.join(', ')} ms without the embedded EHR (the production shape); ${coldRuns['embedded']?.join(', ')} ms with it (the development default; its EHR, which indexes the FHIR R4 definitions and loads the fixtures, was ready at ${coldRuns['ehrReady']?.join(', ')} ms).`,
    `- Scale on one machine (Node cluster, \`WORKERS\`), seed A full prefetch: 1 process ${f(scale[0]?.rps ?? 0)} req/s (p99 ${scale[0]?.p99 ?? 0} ms), 2 processes ${f(scale[1]?.rps ?? 0)} req/s (p99 ${scale[1]?.p99 ?? 0} ms), x${f((scale[1]?.rps ?? 0) / Math.max(1, scale[0]?.rps ?? 1), 2)}; the load generator shares the 2 cores.${scaleVoid}`,
  ]);
}

await main();
// The scratch directory holds request bodies of up to 10,000 resources and a store per service: removed after a
// complete run, kept after a failed one (the services' stores and probe files say what happened).
rmSync(TMP, { recursive: true, force: true });
