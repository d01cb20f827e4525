/**
 * SIGHUP reloads the rules of the running service, one process or a cluster (the primary passes it to each worker),
 * and does not end it: every worker answers with the new thresholds afterwards, the log says so once per process
 * that answers calls and, in a cluster, once more from the primary when every worker has reloaded; `/healthz` shows
 * every worker's rules; a worker started after the files changed is told apart; SIGTERM still stops the service.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureRequest, tempStorePath } from './support/harness.js';
import { copyRules, PACK_VERSION } from './support/rules-copy.js';

type Line = Record<string, unknown>;

/** The service in its own process (WORKERS processes), its thresholds file, and its JSON log lines as they come. */
function startService(workers: number) {
  const rulesDir = copyRules();
  const thresholds = join(rulesDir, 'thresholds.json');
  writeFileSync(thresholds, '{}');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, NODE_ENV: 'development', WORKERS: String(workers), PORT: '0', EMBEDDED_FHIR: 'false', STORE_PATH: tempStorePath(), RULES_DIR: rulesDir, THRESHOLDS_FILE: thresholds, ALLOW_UNAUTHENTICATED: 'true', TRUST_SANDBOX: 'false', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const end = out.lastIndexOf('\n');
    for (const line of out.slice(0, end + 1).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Line);
    out = out.slice(end + 1);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const withMsg = (msg: string): Line[] => lines.filter((l) => String(l['msg']).startsWith(msg));
  /** Resolves once `count` lines start with `msg`; rejects if the process exits first. */
  const waitFor = async (msg: string, count: number): Promise<Line[]> => {
    let timer: NodeJS.Timeout | undefined;
    const found = new Promise<Line[]>((resolve) => {
      timer = setInterval(() => {
        if (withMsg(msg).length >= count) resolve(withMsg(msg));
      }, 20);
    });
    const ended = exited.then((code) => {
      throw new Error(`exited ${String(code)} before ${String(count)} lines "${msg}"`);
    });
    return Promise.race([found, ended]).finally(() => clearInterval(timer));
  };
  const base = async (): Promise<string> => `http://127.0.0.1:${String((await waitFor('listening', workers))[0]?.['port'])}`;
  // A new connection each: the cluster's primary hands them to its workers in turn.
  const get = async (path: string, init: RequestInit = {}): Promise<unknown> =>
    (await fetch(`${await base()}${path}`, { ...init, headers: { 'Content-Type': 'application/json', Connection: 'close' } })).json();
  const body = JSON.stringify(fixtureRequest('seed-a.order-sign.json'));
  /** The morphine-ceiling card summaries of six calls. */
  const ceilingCards = async (): Promise<string[][]> =>
    Promise.all(Array.from({ length: 6 }, async () => {
      const { cards } = (await get('/cds-services/intrathecal-order-sign', { method: 'POST', body })) as { cards: { summary: string }[] };
      return cards.map((c) => c.summary).filter((s) => s.includes('PACC consensus maximum'));
    }));
  const stop = async (): Promise<number | null> => {
    child.kill('SIGTERM');
    return exited;
  };
  return { child, thresholds, lines, withMsg, waitFor, get, ceilingCards, stop };
}

const CEILING_12 = 'Morphine 13.2 mg/day is above the PACC consensus maximum of 12 mg/day';
const PACKS_12 = `intrathecal@${PACK_VERSION}[morphineMaxDailyMg=12]`;

describe('SIGHUP', () => {
  it.each([1, 2])('reloads the rules of every process and keeps serving (WORKERS=%i)', async (workers) => {
    const service = startService(workers);
    try {
      await service.waitFor('listening', workers);
      expect((await service.ceilingCards()).flat()).toEqual([]);
      writeFileSync(service.thresholds, JSON.stringify({ morphineMaxDailyMg: 12 }));
      service.child.kill('SIGHUP');
      const reloaded = await service.waitFor('rules reloaded', workers);
      expect(reloaded.every((l) => l['packs'] === PACKS_12)).toBe(true);
      expect(new Set((await service.ceilingCards()).map((s) => s.join()))).toEqual(new Set([CEILING_12]));
      // In a cluster, the primary's line once both workers reloaded, and each worker's /healthz names both.
      if (workers > 1) await service.waitFor('rules reload reached every worker', 1);
      expect(service.withMsg('rules reload reached every worker').map((l) => [l['packs'], l['msg']])).toEqual(
        workers === 1 ? [] : [[PACKS_12, 'rules reload reached every worker: all 2 answer with the same rules']]
      );
      const eachWorker = [{ worker: expect.any(Number) as number, packs: PACKS_12 }, { worker: expect.any(Number) as number, packs: PACKS_12 }];
      expect(await service.get('/healthz')).toEqual({ status: 'ok', packs: PACKS_12, audit: { notWritten: 0, retrying: false, spoolBytes: 0 }, ...(workers === 1 ? {} : { workers: eachWorker, sameRules: true }) });
    } finally {
      expect(await service.stop()).toBe(0);
    }
  }, 30_000);

  it('tells apart a worker started after the files changed, until SIGHUP brings every worker to them (WORKERS=2)', async () => {
    const service = startService(2);
    try {
      await service.waitFor('listening', 2);
      // The thresholds change but nobody sends SIGHUP; then a worker dies and its replacement reads the new file.
      writeFileSync(service.thresholds, JSON.stringify({ morphineMaxDailyMg: 12 }));
      const pids = readFileSync(`/proc/${String(service.child.pid)}/task/${String(service.child.pid)}/children`, 'utf8').trim().split(/\s+/);
      process.kill(Number(pids[0]), 'SIGKILL');
      const [warned] = await service.waitFor('worker 3 started with rules another worker does not answer with', 1);
      expect(warned?.['level']).toBe(40);
      expect(warned?.['workers']).toEqual(expect.arrayContaining([{ worker: 3, packs: PACKS_12 }, { worker: expect.any(Number) as number, packs: `intrathecal@${PACK_VERSION}` }]));
      const health = (await service.get('/healthz')) as { sameRules: boolean; workers: unknown[] };
      expect(health).toMatchObject({ status: 'ok', sameRules: false });
      expect(health.workers).toHaveLength(2);
      service.child.kill('SIGHUP');
      await service.waitFor('rules reload reached every worker', 1);
      expect(await service.get('/healthz')).toMatchObject({ sameRules: true });
      expect(new Set((await service.ceilingCards()).map((s) => s.join()))).toEqual(new Set([CEILING_12]));
    } finally {
      expect(await service.stop()).toBe(0);
    }
  }, 30_000);
});
