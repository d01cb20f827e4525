/**
 * The replay store on its own connection with synchronous=NORMAL (src/app.ts): a JWT id it has claimed must still
 * be there after the process is killed without closing anything, since that is the durability the service relies
 * on. The kill is real (SIGKILL of a child process), not simulated.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { replayStore } from './replay-store.js';

const here = import.meta.dirname;

describe('replay store', () => {
  it('a claimed JWT id survives a killed process, and is then refused', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'itcds-replay-')), 'store.sqlite');
    const now = Math.floor(Date.now() / 1000);
    const child = `
      import { openDatabase } from '${join(here, 'database.ts')}';
      import { replayStore } from '${join(here, 'replay-store.ts')}';
      const db = openDatabase(${JSON.stringify(path)}, 'NORMAL');
      if (db.prepare('PRAGMA synchronous').get().synchronous !== 1) process.exit(3);
      const store = replayStore(db);
      if (!(await store.claim('https://ehr.example', 'jti-1', ${now + 300}, ${now}))) process.exit(4);
      process.kill(process.pid, 'SIGKILL');`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], { encoding: 'utf8' });
    expect(run.signal).toBe('SIGKILL');
    const store = replayStore(openDatabase(path, 'NORMAL'));
    expect(await store.claim('https://ehr.example', 'jti-1', now + 300, now)).toBe(false);
    expect(await store.claim('https://ehr.example', 'jti-2', now + 300, now)).toBe(true);
  });

  it('an expired id is forgotten, so the table does not grow without bound', async () => {
    const store = replayStore(openDatabase(':memory:', 'NORMAL'));
    const now = 1_800_000_000;
    expect(await store.claim('iss', 'old', now + 10, now)).toBe(true);
    expect(await store.claim('iss', 'old', now + 10, now + 5)).toBe(false);
    // Past its expiry and past the once-a-minute purge, the id is new again.
    expect(await store.claim('iss', 'old', now + 200, now + 120)).toBe(true);
  });
});
