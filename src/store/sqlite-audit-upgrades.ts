/**
 * What opening a SQLite audit log made by an earlier version changes in it, once: the indexes it is read by, and the
 * column for what a call read from the EHR. The PostgreSQL log's are in postgres-schema.ts.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { Logger } from '../log.js';
import { BUSY_TIMEOUT_MS, inSqliteTransaction } from './database.js';

/** How long a process opening the log waits for another that is indexing it (a one-time change, see below). */
const INDEXING_WAIT_MS = 600_000;

/**
 * The indexes the log is read by: time (a page, a range, the prune), patient then time, request, hook instance (each
 * also holds the row id, SQLite's own). A log written before session 32 had the patient's by id and none by request;
 * adding them reads the whole table once (0.2 s for 200,000 seed-sized calls here, 1.2 s on a file whose rows were
 * still in its WAL; bench:audit-read), so that is announced, done in
 * one transaction, and the other processes opening the file meanwhile wait for it (up to INDEXING_WAIT_MS) instead
 * of failing after the usual busy timeout.
 * @param db - the open audit database.
 * @param log - where indexing an existing log is announced.
 */
export function indexInvocations(db: DatabaseSync, log: Pick<Logger, 'info'> | undefined): void {
  db.exec('CREATE INDEX IF NOT EXISTS hook_invocation_received ON hook_invocation (received_at)');
  db.exec('CREATE INDEX IF NOT EXISTS hook_invocation_instance ON hook_invocation (hook_instance)');
  if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'hook_invocation_request'").get() !== undefined) return;
  if (log && db.prepare('SELECT 1 FROM hook_invocation LIMIT 1').get() !== undefined) {
    log.info('audit log: indexing it by patient and by request, once; on a large log this takes a while');
  }
  db.exec(`PRAGMA busy_timeout = ${String(INDEXING_WAIT_MS)}`);
  try {
    inSqliteTransaction(db, () => {
      db.exec('CREATE INDEX IF NOT EXISTS hook_invocation_patient_time ON hook_invocation (patient_id, received_at)');
      db.exec('CREATE INDEX IF NOT EXISTS hook_invocation_request ON hook_invocation (request_id)');
      db.exec('DROP INDEX IF EXISTS hook_invocation_patient');
    });
  } finally {
    db.exec(`PRAGMA busy_timeout = ${String(BUSY_TIMEOUT_MS)}`);
  }
}

/**
 * Adds the column for what was read from the EHR to a log made before session 37 (its rows keep null there). Adding
 * a column with no default changes only the table's definition, whatever the log's size. Two processes opening the
 * file together may both try: the one that finds the column already added goes on.
 * @param db - the open audit database.
 */
export function addFetched(db: DatabaseSync): void {
  const has = (): boolean => (db.prepare("SELECT 1 FROM pragma_table_info('hook_invocation') WHERE name = 'fetched'").get() !== undefined);
  if (has()) return;
  try {
    db.exec('ALTER TABLE hook_invocation ADD COLUMN fetched BLOB');
  } catch (err) {
    if (!has()) throw err;
  }
}
