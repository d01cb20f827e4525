/**
 * The service's SQLite database (node:sqlite, no native addon): feedback and the JWT replay store. WAL with
 * synchronous=FULL: a write that returned survives a crash, and processes on one machine share the file.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/**
 * Opens (and creates when needed) the database.
 * @param path - file path, or `:memory:`.
 * @returns the open database.
 */
export function openDatabase(path: string): DatabaseSync {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA busy_timeout = 5000');
  return db;
}
