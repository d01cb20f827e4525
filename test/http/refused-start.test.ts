/**
 * A setting the service cannot use at start stops it with the setting and the reason an operator acts on, never a
 * stack trace: before, a SQLite file under a file printed `EEXIST: file already exists, mkdir ...` with its stack, a
 * port in use crashed with Node's "Unhandled 'error' event", a mistyped RULES_DIR printed ENOENT's stack, and a
 * packs folder with nothing in it started a service that answered every call with no cards. The real entry point,
 * src/main.ts, with real files and a real socket.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Starts src/main.ts with these settings; resolves with its exit code and everything it wrote. */
async function start(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, NODE_ENV: 'development', PORT: '0', EMBEDDED_FHIR: 'false', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  // A service that did start is stopped at once, so the test reports it instead of waiting for ever.
  child.stdout.on('data', () => {
    if (out.includes('"listening"')) child.kill('SIGTERM');
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, out };
}

const dir = mkdtempSync(join(tmpdir(), 'itcds-files-'));
writeFileSync(join(dir, 'a-file'), '');
mkdirSync(join(dir, 'a-folder.sqlite'));
writeFileSync(join(dir, 'notes.txt'), 'Refill notes, not a database. '.repeat(20));

describe('a SQLite file the service cannot use', () => {
  it.each([
    ['STORE_PATH under a file', { STORE_PATH: join(dir, 'a-file', 'store.sqlite') }, `STORE_PATH: ${join(dir, 'a-file', 'store.sqlite')} cannot be used: a part of its folder is a file, not a folder`],
    ['STORE_PATH naming a folder', { STORE_PATH: join(dir, 'a-folder.sqlite') }, `STORE_PATH: ${join(dir, 'a-folder.sqlite')} cannot be used: SQLite cannot open it`],
    ['STORE_PATH naming a file that is not a database', { STORE_PATH: join(dir, 'notes.txt') }, `STORE_PATH: ${join(dir, 'notes.txt')} cannot be used: the file is not a SQLite database`],
    ['AUDIT_STORE_PATH naming a file that is not a database', { STORE_PATH: join(dir, 'fine.sqlite'), AUDIT_STORE_PATH: join(dir, 'notes.txt') }, `AUDIT_STORE_PATH: ${join(dir, 'notes.txt')} cannot be used: the file is not a SQLite database`],
  ])('stops the start, naming the setting, the path and why: %s', async (_name, env, message) => {
    const { code, out } = await start(env);
    expect(code).toBe(1);
    expect(out).toContain(`intrathecal-cds did not start: ${message}`);
    expect(out).not.toMatch(/\n\s+at /);
    expect(out).not.toContain('"listening"');
  }, 30_000);
});

describe('a socket the service cannot listen on', () => {
  it('stops the start when PORT is taken, saying so', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as AddressInfo).port;
      const { code, out } = await start({ STORE_PATH: ':memory:', PORT: String(port), HOST: '127.0.0.1' });
      expect(code).toBe(1);
      expect(out).toContain(`intrathecal-cds did not start: PORT ${String(port)} on 127.0.0.1 is in use by another process`);
      expect(out).not.toMatch(/\n\s+at |Unhandled/);
    } finally {
      taken.close();
    }
  }, 30_000);

  it('stops the start when HOST is not an address of this machine', async () => {
    // TEST-NET-1 (RFC 5737): never assigned to a machine.
    const { code, out } = await start({ STORE_PATH: ':memory:', HOST: '192.0.2.1' });
    expect(code).toBe(1);
    expect(out).toContain('intrathecal-cds did not start: HOST 192.0.2.1 is not an address of this machine');
  }, 30_000);
});

describe('rules the service cannot load', () => {
  const rules = (edit: (root: string) => void): string => {
    const root = mkdtempSync(join(tmpdir(), 'itcds-rules-'));
    cpSync('cds-hooks', root, { recursive: true });
    edit(root);
    return root;
  };
  it.each([
    ['a RULES_DIR that does not exist', join(dir, 'no-rules-here'), /RULES_DIR .*no-rules-here: no such folder/],
    ['a packs folder with no pack in it', rules((root) => rmSync(join(root, 'packs', 'intrathecal'), { recursive: true })), /.*packs: no rule pack in it/],
  ])('stops the start rather than answer with no cards: %s', async (_name, rulesDir, message) => {
    const { code, out } = await start({ STORE_PATH: ':memory:', RULES_DIR: rulesDir });
    expect(code).toBe(1);
    expect(out).toMatch(new RegExp(`intrathecal-cds did not start: ${message.source}`));
    expect(out).not.toMatch(/\n\s+at /);
  }, 30_000);
});

describe('deployment thresholds the service cannot use', () => {
  const file = (values: Record<string, number>): string => {
    const path = join(mkdtempSync(join(tmpdir(), 'itcds-thresholds-')), 'thresholds.json');
    writeFileSync(path, JSON.stringify(values));
    return path;
  };
  it.each([
    ['a share of pain relief over 100 %', { responseReliefPct: 150 }, /threshold responseReliefPct set to 150 %, above the most it can be \(100 %\)/],
    ['a negative dose', { morphineMaxDailyMg: -15 }, /thresholds\.json: morphineMaxDailyMg is -15; a threshold is never negative/],
  ])('stops the start rather than compare every order against it: %s', async (_name, values, message) => {
    const { code, out } = await start({ STORE_PATH: ':memory:', THRESHOLDS_FILE: file(values) });
    expect(code).toBe(1);
    expect(out).toMatch(new RegExp(`intrathecal-cds did not start: .*${message.source}`));
    expect(out).not.toMatch(/\n\s+at /);
  }, 30_000);
});
