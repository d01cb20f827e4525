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
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { captureLog } from '../../test/support/harness.js';
import { BUSY_TIMEOUT_MS, EVENT_LOOP_BUSY_TIMEOUT_MS, inSqliteTransaction, LOCKED_WINDOW_MS, onEventLoop, openDatabase } from './database.js';

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

describe('onEventLoop', () => {
  /** A store's connection to a file another connection of this process holds the write lock of. */
  function lockedFile(): { db: DatabaseSync; locker: DatabaseSync } {
    const path = join(mkdtempSync(join(tmpdir(), 'itcds-db-')), 'store.sqlite');
    const db = openDatabase(path);
    db.exec('CREATE TABLE t (x INTEGER)');
    const locker = new DatabaseSync(path);
    locker.exec('BEGIN IMMEDIATE');
    return { db, locker };
  }
  const timed = async (work: () => Promise<unknown>): Promise<{ ms: number; outcome: unknown }> => {
    const started = performance.now();
    const outcome = await work().then((value) => value, (err: unknown) => err);
    return { ms: performance.now() - started, outcome };
  };

  it('refuses a write to a locked file with 503 after a moment, then at once for a while, and writes once the file is free', async () => {
    const { db, locker } = lockedFile();
    let now = 1_000_000;
    const { log, lines } = captureLog();
    const attempt = onEventLoop(db, 'STORE_PATH', log, () => now);
    const write = () => attempt(() => db.prepare('INSERT INTO t VALUES (1)').run());

    const first = await timed(write);
    expect(first.outcome).toMatchObject({ status: 503, headers: { 'Retry-After': '5' } });
    expect(first.ms).toBeGreaterThanOrEqual(EVENT_LOOP_BUSY_TIMEOUT_MS - 20);
    expect(first.ms).toBeLessThan(BUSY_TIMEOUT_MS / 2);
    now += LOCKED_WINDOW_MS - 1;
    const hurried = await timed(write);
    expect(hurried.outcome).toMatchObject({ status: 503 });
    expect(hurried.ms).toBeLessThan(EVENT_LOOP_BUSY_TIMEOUT_MS / 2);
    // The refusal renewed the window; past it, the connection waits again before refusing.
    now += LOCKED_WINDOW_MS + 1;
    expect((await timed(write)).ms).toBeGreaterThanOrEqual(EVENT_LOOP_BUSY_TIMEOUT_MS - 20);

    locker.exec('COMMIT');
    // Still inside the window: a free file is written at once, and its busy timeout is the moment again.
    await expect(write()).resolves.toMatchObject({ changes: 1 });
    expect(db.prepare('PRAGMA busy_timeout').get()).toEqual({ timeout: EVENT_LOOP_BUSY_TIMEOUT_MS });
    // Warned when a wait ran out (the first call, and again after the window lapsed), not at each quick refusal.
    const warnings = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['level'] === 40);
    expect(warnings.map((w) => w['file'])).toEqual(['STORE_PATH', 'STORE_PATH']);
    expect(String(warnings[0]?.['msg'])).toMatch(/locked by another connection.*503/);
    locker.close();
    db.close();
  });

  it('waits for a lock another process holds briefly, as a sibling worker does', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'itcds-db-')), 'store.sqlite');
    const holder = await holdLock(path, 100, 'EXCLUSIVE');
    const db = new DatabaseSync(path);
    const attempt = onEventLoop(db, 'STORE_PATH');
    await expect(attempt(() => db.prepare('INSERT INTO t VALUES (2)').run())).resolves.toMatchObject({ changes: 1 });
    expect(await holder.done).toBe(0);
    db.close();
  });

  it('rejects with the error itself when it is not a lock', async () => {
    const db = openDatabase(':memory:');
    await expect(onEventLoop(db, 'STORE_PATH')(() => db.prepare('SELECT * FROM missing').all())).rejects.toThrow(/no such table/);
    db.close();
  });
});

describe('inSqliteTransaction', () => {
  const table = (): DatabaseSync => {
    const db = new DatabaseSync(':memory:');
    db.exec('CREATE TABLE t (v INTEGER NOT NULL)');
    return db;
  };
  const values = (db: DatabaseSync): unknown[] => db.prepare('SELECT v FROM t ORDER BY v').all().map((r) => r['v']);

  it('keeps every statement, or none when one throws, and throws that error on', () => {
    const db = table();
    inSqliteTransaction(db, () => db.exec('INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)'));
    expect(() => inSqliteTransaction(db, () => db.exec('INSERT INTO t VALUES (3); INSERT INTO t VALUES (NULL)'))).toThrow(/NOT NULL/);
    expect(values(db)).toEqual([1, 2]);
    expect(db.isTransaction).toBe(false);
  });

  it('throws the statement\'s own error when SQLite has already rolled the transaction back', () => {
    const db = table();
    // Stands in for a full disk or an I/O error, after which SQLite ends the transaction itself: not producible here.
    const fault = new Error('database or disk is full');
    expect(() => inSqliteTransaction(db, () => {
      db.exec('INSERT INTO t VALUES (1); ROLLBACK');
      throw fault;
    })).toThrow(fault);
    expect(values(db)).toEqual([]);
  });
});
