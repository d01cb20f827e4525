/**
 * SIGHUP reloads the rules of the running service, one process or a cluster (the primary passes it to each worker),
 * and does not end it: every worker answers with the new thresholds afterwards, the log says so once per process
 * that answers calls, and SIGTERM still stops the service cleanly.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureRequest, tempStorePath } from './support/harness.js';
import { copyRules, PACK_VERSION } from './support/rules-copy.js';

/** Resolves with the parsed log lines once `done` holds for them; rejects if the process exits first. */
function waitForLog(lines: Record<string, unknown>[], done: (lines: Record<string, unknown>[]) => boolean, child: ReturnType<typeof spawn>): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (done(lines)) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(check, 20);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`exited ${String(code)}`));
    });
  });
}

describe('SIGHUP', () => {
  it.each([1, 2])('reloads the rules of every process and keeps serving (WORKERS=%i)', async (workers) => {
    const rulesDir = copyRules();
    const thresholds = join(rulesDir, 'thresholds.json');
    writeFileSync(thresholds, '{}');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, NODE_ENV: 'development', WORKERS: String(workers), PORT: '0', EMBEDDED_FHIR: 'false', STORE_PATH: tempStorePath(), RULES_DIR: rulesDir, THRESHOLDS_FILE: thresholds, ALLOW_UNAUTHENTICATED: 'true', TRUST_SANDBOX: 'false', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Record<string, unknown>[] = [];
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const end = out.lastIndexOf('\n');
      for (const line of out.slice(0, end + 1).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      out = out.slice(end + 1);
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const with_ = (msg: string) => (all: Record<string, unknown>[]) => all.filter((l) => String(l['msg']).startsWith(msg));
      await waitForLog(lines, (all) => with_('listening')(all).length === workers, child);
      const url = `http://127.0.0.1:${String(with_('listening')(lines)[0]?.['port'])}/cds-services/intrathecal-order-sign`;
      const body = JSON.stringify(fixtureRequest('seed-a.order-sign.json'));
      const summaries = async (): Promise<string[][]> =>
        Promise.all(Array.from({ length: 6 }, async () => {
          // A new connection each: the cluster's primary hands them to its workers in turn.
          const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Connection: 'close' }, body });
          const cards = ((await res.json()) as { cards: { summary: string }[] }).cards;
          return cards.map((c) => c.summary).filter((s) => s.includes('PACC consensus maximum'));
        }));
      expect((await summaries()).flat()).toEqual([]);
      writeFileSync(thresholds, JSON.stringify({ morphineMaxDailyMg: 12 }));
      child.kill('SIGHUP');
      await waitForLog(lines, (all) => with_('rules reloaded')(all).length === workers, child);
      expect(with_('rules reloaded')(lines).every((l) => l['packs'] === `intrathecal@${PACK_VERSION}[morphineMaxDailyMg=12]`)).toBe(true);
      expect(new Set((await summaries()).map((s) => s.join()))).toEqual(new Set(['Morphine 13.2 mg/day is above the PACC consensus maximum of 12 mg/day']));
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);
});
