/**
 * A SQLite file the settings name that cannot be used stops the start with the setting, the path and the reason an
 * operator acts on: before, each of these printed a stack trace (`EEXIST: file already exists, mkdir ...` for a
 * folder that is a file). The real entry point, src/main.ts, with real files.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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
