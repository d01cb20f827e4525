/**
 * Several processes open the same database at once (WORKERS > 1, or instances sharing a volume): one that finds the
 * file locked must wait for it, not fail. Before the busy timeout was set first, the second cluster worker of the
 * bench's two-process run died at start-up with "database is locked" while the first switched the file to WAL; with
 * the timeout set, it still died about once in fifteen starts, when both held a read lock and wanted the write lock
 * (SQLite refuses one at once there, without the timeout). The lock here is held by a real second process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';

/**
 * Starts a process that creates the database and holds a lock on it for `holdMs`; resolves once it holds it.
 * EXCLUSIVE keeps every other connection out; IMMEDIATE (the write lock) lets others read, and a reader that then
 * wants to write is refused at once rather than made to wait.
 */
function holdLock(path: string, holdMs: number, mode: 'EXCLUSIVE' | 'IMMEDIATE'): Promise<{ done: Promise<number | null> }> {
  const script = `
    import { DatabaseSync } from 'node:sqlite';
    const db = new DatabaseSync(${JSON.stringify(path)});
    db.exec('CREATE TABLE t (x INTEGER)');
    db.exec('BEGIN ${mode}');
    db.exec('INSERT INTO t VALUES (1)');
    process.stdout.write('locked\\n');
    setTimeout(() => { db.exec('COMMIT'); db.close(); }, ${holdMs});`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const done = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('locked')) resolve({ done });
    });
    child.on('exit', (code) => reject(new Error(`the lock holder exited ${String(code)} before locking`)));
  });
}

describe('openDatabase', () => {
  it.each([
    ['waits for a lock held by another process, then opens the file in WAL mode', 'EXCLUSIVE'],
    ['tries the switch to WAL again when SQLite refuses it without waiting (another process holds the write lock)', 'IMMEDIATE'],
  ] as const)('%s', async (_name, mode) => {
    const path = join(mkdtempSync(join(tmpdir(), 'itcds-db-')), 'store.sqlite');
    const holder = await holdLock(path, 400, mode);
    const started = Date.now();
    const db = openDatabase(path);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(db.prepare('SELECT x FROM t').all()).toEqual([{ x: 1 }]);
    expect(await holder.done).toBe(0);
    db.close();
  });

  it('gives up with the error once the lock outlasts the busy timeout', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'itcds-db-')), 'store.sqlite');
    const holder = await holdLock(path, 5600, 'IMMEDIATE');
    const started = Date.now();
    expect(() => openDatabase(path)).toThrow(/database is locked/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4500);
    expect(await holder.done).toBe(0);
  }, 12_000);
});
