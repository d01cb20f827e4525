/**
 * The service's SQLite databases (node:sqlite, no native addon): feedback and the JWT replay store, and the audit
 * log's own file, in WAL mode so processes on one machine share them. How durable a write is, is chosen per connection (`synchronous`).
 */
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { serviceUnavailable } from '../http/outcomes.js';
import type { Logger } from '../log.js';

/**
 * How durable a committed write is. `FULL`: it survives a crash of the process and of the machine (each commit
 * waits for the disk). `NORMAL`: it survives a crash of the process, and may be lost with the last moments before a
 * power loss or an operating-system crash (commits do not wait for the disk).
 */
export type Durability = 'FULL' | 'NORMAL';

/** How long a connection waits for another's lock, here and in every later statement. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * The primary SQLite result code of an error from node:sqlite (an extended code, such as SQLITE_CANTOPEN_ISDIR,
 * reduced to its primary one), or undefined for another error.
 * @param err - what was thrown.
 * @returns 5 for SQLITE_BUSY, 14 for SQLITE_CANTOPEN, 26 for SQLITE_NOTADB, and so on.
 */
function sqliteResultCode(err: unknown): number | undefined {
  const code = (err as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' ? code & 0xff : undefined;
}

/**
 * Why SQLite could not open a file, when its error says so: the file is not a database, or SQLite cannot open it.
 * @param err - what opening (or the first statement) threw.
 * @param access - what the user running it needs to do with the file, for the message.
 * @returns the reason in an operator's words, or undefined for another error.
 */
export function sqliteOpenProblem(err: unknown, access: 'read' | 'write'): string | undefined {
  const code = sqliteResultCode(err);
  if (code === 26) return 'the file is not a SQLite database';
  if (code === 14) return `SQLite cannot open it (a folder, or a file or folder this user cannot ${access})`;
  return undefined;
}

/** SQLite's SQLITE_BUSY ("database is locked"). */
const isBusy = (err: unknown): boolean => sqliteResultCode(err) === 5;

/**
 * Switches the file to WAL. Two processes switching a new file at once can each hold a read lock while wanting the
 * write lock; SQLite then refuses one at once, without its busy timeout, since waiting could never end. The refused
 * one has let go of its lock by then, so trying again after a short pause succeeds (the file is then WAL already).
 */
function switchToWal(db: DatabaseSync): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      db.exec('PRAGMA journal_mode = WAL');
      return;
    } catch (err) {
      if (!isBusy(err) || Date.now() >= deadline) throw err;
      // Start-up only, so a synchronous pause is fine; jittered so two processes do not meet again.
      Atomics.wait(pause, 0, 0, 5 + Math.floor(Math.random() * 20));
    }
  }
}

/**
 * Opens (and creates when needed) the database.
 * @param path - file path, or `:memory:`.
 * @param durability - FULL (the default) or NORMAL, for this connection's writes.
 * @returns the open database.
 */
export function openDatabase(path: string, durability: Durability = 'FULL'): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  // First: switching a new file to WAL takes a lock, and another process opening the same file at that moment (a
  // second cluster worker) must wait for it rather than fail with "database is locked".
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  switchToWal(db);
  db.exec(`PRAGMA synchronous = ${durability}`);
  return db;
}

/**
 * Opens a database that holds patient data: a new file is created readable and writable by its owner only (0600),
 * and SQLite gives its -wal and -shm files the mode of the database file.
 * @param path - file path, or `:memory:`.
 * @param durability - FULL or NORMAL, for this connection's writes.
 * @returns the open database, and whether an existing file is open to its group or to others (for a warning: an
 * operator's choice of mode is not changed behind their back).
 */
export function openPrivateDatabase(path: string, durability: Durability): { db: DatabaseSync; openToOthers: boolean } {
  let openToOthers = false;
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    try {
      closeSync(openSync(path, 'wx', 0o600));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      openToOthers = (statSync(path).mode & 0o077) !== 0;
    }
  }
  return { db: openDatabase(path, durability), openToOthers };
}

/** Seconds a caller is asked to wait when a file stays locked past the busy timeout. */
const BUSY_RETRY_AFTER_S = 5;

/**
 * The busy timeout of a connection the event loop uses once its tables are made: while it waits for a lock, every
 * hook call of the process waits too, so it waits a moment (another process's transactions on these files last
 * well under a millisecond), not the 5 s a start-up may. Past it the call answers 503.
 */
export const EVENT_LOOP_BUSY_TIMEOUT_MS = 250;

/**
 * How long after a lock outlasted EVENT_LOOP_BUSY_TIMEOUT_MS a connection does not wait for locks at all: a lock
 * held that long is likely still held (an operator's VACUUM or open transaction, another process's indexing), and
 * waiting again at every call would hold the event loop most of the time. A free file is still used at once.
 */
export const LOCKED_WINDOW_MS = 1000;

/**
 * Runs a store's synchronous statements on the event loop as the store's promise (the stores' interfaces are
 * promises, as PostgreSQL's must be): a failure rejects instead of throwing. A file that stayed locked past the busy
 * timeout rejects with 503 and Retry-After, as an unreachable PostgreSQL does: nothing was done, and the call may be
 * made again. After that, for LOCKED_WINDOW_MS, a locked file is refused at once instead of waited for. The first
 * refusal of a lock is logged (a warning names the setting, not the path); the refusals while it lasts are not.
 * @param db - the open connection; its busy timeout becomes EVENT_LOOP_BUSY_TIMEOUT_MS.
 * @param setting - the setting that names the file, for the warning (`STORE_PATH`, `AUDIT_STORE_PATH`).
 * @param log - where the warning goes.
 * @param clock - milliseconds now (tests pass their own).
 * @returns the runner: the statements in, their result (or the refusal) out.
 */
export function onEventLoop(db: DatabaseSync, setting: string, log?: Pick<Logger, 'warn'>, clock: () => number = Date.now): <T>(work: () => T) => Promise<T> {
  db.exec(`PRAGMA busy_timeout = ${String(EVENT_LOOP_BUSY_TIMEOUT_MS)}`);
  let lockedUntil = 0;
  return (work) => {
    const hurried = clock() < lockedUntil;
    if (hurried) db.exec('PRAGMA busy_timeout = 0');
    try {
      return Promise.resolve(work());
    } catch (err) {
      if (!isBusy(err)) return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      if (!hurried) log?.warn({ file: setting, waitedMs: EVENT_LOOP_BUSY_TIMEOUT_MS }, 'SQLite file locked by another connection: the calls that need it are answered 503 until it is free');
      lockedUntil = clock() + LOCKED_WINDOW_MS;
      return Promise.reject(serviceUnavailable('The service\'s SQLite file is locked by another connection (a VACUUM, or another process\'s long write), so nothing was done; retry shortly', BUSY_RETRY_AFTER_S));
    } finally {
      if (hurried) db.exec(`PRAGMA busy_timeout = ${String(EVENT_LOOP_BUSY_TIMEOUT_MS)}`);
    }
  };
}

/**
 * Runs statements in one write transaction (taken at once, so a lock is met at BEGIN, not halfway): all of them are
 * kept, or, when one throws, none, and the error is thrown on.
 * @param db - the connection.
 * @param work - the statements.
 */
export function inSqliteTransaction(db: DatabaseSync, work: () => void): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    work();
    db.exec('COMMIT');
  } catch (err) {
    // On some faults (a full disk, an I/O error) SQLite has rolled the transaction back itself: the error to report
    // is the statement's, not "no transaction is active".
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}
