/**
 * The service's SQLite database (node:sqlite, no native addon): feedback and the JWT replay store, in WAL mode so
 * processes on one machine share the file. How durable a write is, is chosen per connection (`synchronous`).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/**
 * How durable a committed write is. `FULL`: it survives a crash of the process and of the machine (each commit
 * waits for the disk). `NORMAL`: it survives a crash of the process, and may be lost with the last moments before a
 * power loss or an operating-system crash (commits do not wait for the disk).
 */
export type Durability = 'FULL' | 'NORMAL';

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
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec('PRAGMA journal_mode = WAL');
  db.exec(`PRAGMA synchronous = ${durability}`);
  return db;
}
