/**
 * `npm run bench:stores`: seed A's full-prefetch order-sign over HTTP with the service's state in each of its two
 * homes, the SQLite files of one machine (the default) and the shared PostgreSQL database (DATABASE_URL), to say what
 * the audit log written to PostgreSQL costs in throughput and latency. The production build, the production shape
 * (no embedded EHR), the same load as `npm run bench` (autocannon in its own process, loopback, BENCH_SECONDS per
 * run), the two alternated ROUNDS times. Per run: req/s, p50, p99, and the CPU the service's main thread (its event
 * loop) and the whole process used per answered call, read from /proc; after each run, the audit rows are counted,
 * so a writer that dropped records cannot pass for a fast one. PostgreSQL is BENCH_DATABASE_URL's server when given,
 * else a throw-away cluster of Debian's PostgreSQL on loopback (the tests' own), sharing the 2 cores. Writes its
 * table between markers in docs/benchmarks.md.
 */
import { DatabaseSync } from 'node:sqlite';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { dropPostgresDatabase, freshPostgresDatabase } from '../test/support/postgres.js';
import { f } from './bench/numbers.js';
import { cpuMs } from './bench/proc.js';
import { load, SECONDS, startService, stop, TMP, warm } from './bench/processes.js';
import { fixture } from './bench/synthetic.js';
import { benchPostgres } from './bench/postgres.js';
import { writeSection } from './bench/report.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? '3');
const WARM_CALLS = 30;
const log = (line: string): boolean => process.stdout.write(`${line}\n`);

/** Where the service keeps its state in one configuration, and how many audit rows it holds after a run. */
interface Home {
  readonly name: string;
  readonly env: Record<string, string>;
  rows(): Promise<number>;
  done(): Promise<void>;
}

function sqliteHome(round: number): Home {
  const audit = join(TMP, `audit-${String(round)}.sqlite`);
  return {
    name: 'SQLite (STORE_PATH, AUDIT_STORE_PATH)',
    env: { STORE_PATH: join(TMP, `stores-${String(round)}.sqlite`), AUDIT_STORE_PATH: audit },
    rows: () => {
      const db = new DatabaseSync(audit);
      try {
        return Promise.resolve((db.prepare('SELECT count(*) AS n FROM hook_invocation').get() as { n: number }).n);
      } finally {
        db.close();
      }
    },
    done: () => Promise.resolve(),
  };
}

async function postgresHome(server: string): Promise<Home> {
  const url = await freshPostgresDatabase(server);
  return {
    name: 'PostgreSQL (DATABASE_URL)',
    env: { DATABASE_URL: url },
    rows: async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM hook_invocation')).rows[0]?.n ?? 0;
      } finally {
        await client.end();
      }
    },
    done: () => dropPostgresDatabase(url, server),
  };
}

/** One measured run: a fresh service on the home, warmed, loaded, stopped; its audit rows counted. */
async function run(home: Home, bodyFile: string): Promise<string> {
  const svc = await startService({ ALLOW_UNAUTHENTICATED: 'true', EMBEDDED_FHIR: 'false', ...home.env });
  const pid = svc.child.pid ?? 0;
  const url = `${svc.base}/cds-services/intrathecal-order-sign`;
  await warm(url, readFileSync(bodyFile, 'utf8'), {}, WARM_CALLS);
  const [threadBefore, processBefore] = [cpuMs(pid, pid), cpuMs(pid)];
  const result = await load(url, bodyFile);
  const [thread, whole] = [cpuMs(pid, pid) - threadBefore, cpuMs(pid) - processBefore];
  // Stopping lets the writer write what it holds; the rows are counted after.
  await stop(svc.child);
  const rows = (await home.rows()) - WARM_CALLS;
  const answered = result.total - result.non2xx - result.errors - result.timeouts;
  const perCall = (ms: number): string => `${f((ms * 1e3) / Math.max(1, result.total), 0)} us`;
  const row = `| ${home.name} | ${f(result.rps)} | ${f(result.p50, 1)} | ${f(result.p99, 1)} | ${perCall(thread)} | ${perCall(whole)} | ${f(answered)} | ${f(rows)} |`;
  log(row);
  if (rows < answered) throw new Error(`${home.name}: ${String(rows)} audit rows for ${String(answered)} answered calls`);
  return row;
}

async function main(): Promise<void> {
  if (!existsSync('dist/main.js')) throw new Error('run npm run build first (npm run bench:stores does)');
  const bodyFile = join(TMP, 'seed-a.json');
  writeFileSync(bodyFile, JSON.stringify(fixture('seed-a.order-sign.json')));
  const postgres = await benchPostgres();
  const stopPostgres = () => postgres.stop();
  if (postgres.url === undefined) throw new Error(`no PostgreSQL to measure: ${postgres.why ?? 'none'}`);
  const server = postgres.url;
  const rows: string[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const home of [sqliteHome(round), await postgresHome(server)]) {
        try {
          rows.push(await run(home, bodyFile));
        } finally {
          await home.done();
        }
      }
    }
  } finally {
    stopPostgres();
  }
  const cpu = os.cpus();
  writeSection('stores', [
    '## Where the state is kept, over HTTP (`npm run bench:stores`)',
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${cpu.length} x ${cpu[0]?.model ?? 'CPU'}, Node ${process.version}; seed A order-sign with full prefetch against the production build without the embedded EHR, one process, unauthenticated (development mode), log level info to a pipe; autocannon, 10 connections, ${SECONDS} s per run after ${WARM_CALLS} warm-up calls, load generator in its own process; the two configurations alternated ${ROUNDS} times, each run on a fresh service and a fresh store. PostgreSQL: ${postgres.described}. "Main thread CPU per call" is the CPU the service's event loop thread used over the run divided by the calls made, "process CPU per call" adds its other threads (the audit writer's, the collector's); both from /proc in 10 ms ticks; the PostgreSQL server's own CPU, on the same cores, is in neither. "Audit rows" counts the rows the run left after the service stopped, its warm-up calls taken off: at least one per answered call, or the run fails.`,
    '',
    '| store | req/s | p50 ms | p99 ms | main thread CPU per call | process CPU per call | calls answered | audit rows |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ]);
}

await main();
