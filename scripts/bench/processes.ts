/**
 * The processes of `npm run bench` and `npm run bench:stores`: services started for measuring and the load generator
 * (what is read of them from /proc is in proc.ts). Times and the scratch directory are shared by every run of one
 * bench.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';

/** Seconds per measured run (BENCH_SECONDS, 10). */
export const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '10');
/** The Node that runs the bench runs every process it starts. */
export const NODE = process.execPath;
/** Scratch directory of this bench: request bodies, stores, tokens, probe files. */
export const TMP = mkdtempSync(join(os.tmpdir(), 'itcds-bench-'));

/** What the load generator reports. */
export interface LoadResult {
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

/** A free loopback port. */
export function freePort(): Promise<number> {
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
export function waitFor(child: ChildProcess, text: RegExp): Promise<void> {
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

/** Stops a child with SIGTERM and waits for it to exit. */
export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve();
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** A service started for measuring; `deaths` counts the cluster workers its primary reported dead so far. */
export interface StartedService {
  child: ChildProcess;
  base: string;
  deaths: () => number;
}

/**
 * Starts the service (or another script of the same application) for measuring, on a free port, in development
 * mode with the bench's limits; resolves once it listens (with the embedded EHR, once that has loaded).
 */
export async function startService(env: Record<string, string>, script = 'dist/main.js', nodeArgs: string[] = []): Promise<StartedService> {
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
export async function load(url: string, bodyFile: string, extra: Record<string, unknown> = {}, steady = false): Promise<LoadResult> {
  const child = spawn(NODE, [steady ? 'scripts/bench/steady.mjs' : 'scripts/bench/load.mjs', JSON.stringify({ url, bodyFile, duration: SECONDS, ...extra })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((resolve) => child.on('exit', resolve));
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as LoadResult;
}

/** Calls (thirty unless said), each required to answer 200; resolves with the last response's body. */
export async function warm(url: string, body: string, headers: Record<string, string> = {}, calls = 30): Promise<string> {
  let text = '';
  for (let i = 0; i < calls; i++) {
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
    text = await res.text();
    if (res.status !== 200) throw new Error(`warm-up got ${res.status} from ${url}: ${text.slice(0, 300)}`);
  }
  return text;
}
