/**
 * Copies what a machine kept in its SQLite files into the shared PostgreSQL database, for a service moving to
 * DATABASE_URL: feedback from STORE_PATH, and the audit log (hook invocations and reads of the log) from
 * AUDIT_STORE_PATH, so that disputes about calls answered before the move are answered from the one log. The JWT
 * replay store is not copied: its tokens have expired by the time anyone copies.
 *
 * - Rows are copied as they are: the audit bodies stay Brotli-compressed bytes, times keep their milliseconds, text
 *   loses only its NUL characters (pgText, as the service writes). Each copied row gets a new id; the log is read by
 *   time then id, so a copied row stands where its time puts it among the rows already there.
 * - A row already in PostgreSQL (same time and identifying columns, counted, so two identical rows stay two) is not
 *   copied again: a copy that stopped half-way, or the same file copied twice, adds nothing twice. Several
 *   machines' files can be copied one after the other.
 * - Chunks of CHUNK rows, each in its own transaction; the copy itself is recorded as one read of the audit log.
 */
import type { DatabaseSync } from 'node:sqlite';
import type pg from 'pg';
import { READ_COLUMNS } from './audit-store.js';
import { FEEDBACK_COLUMNS } from './feedback-store.js';
import { INVOCATION_COLUMNS } from './postgres-audit-store.js';
import { insertRows, inTransaction, pgJson, pgText } from './postgres.js';
import type { SharedDatabase } from './postgres.js';

/** Rows read, checked and inserted at a time. */
const CHUNK = 500;

/** What one table's copy did. */
export interface TableCopied {
  /** Rows inserted into PostgreSQL. */
  readonly copied: number;
  /** Rows of the file that PostgreSQL held already. */
  readonly present: number;
}

/** What a copy did, per table. */
export interface CopyReport {
  readonly feedback: TableCopied;
  readonly hookInvocations: TableCopied;
  readonly auditReads: TableCopied;
}

/** The SQLite files to copy from; either may be left out. */
export interface CopySources {
  /** STORE_PATH's database (feedback). */
  readonly store?: DatabaseSync;
  /** AUDIT_STORE_PATH's database (hook_invocation, audit_read). */
  readonly audit?: DatabaseSync;
}

/** A value as node:sqlite returns it. */
type Cell = null | number | bigint | string | Uint8Array;
type SqliteRow = Record<string, Cell>;

/** How one table is copied: its columns (the same on both sides), the ones that identify a row, and the mapping. */
interface TableCopy {
  readonly table: string;
  /** The time column, first of `key`. */
  readonly time: string;
  readonly columns: readonly string[];
  /** Identifying columns besides the time; the first narrows the look-up of rows already there. */
  readonly key: readonly string[];
  readonly values: (row: SqliteRow) => unknown[];
}

/** A TEXT column's value (SQLite keeps whatever was put in; this service put text). */
const str = (v: Cell | undefined): string => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v ?? ''));
const text = (v: Cell | undefined): string => pgText(str(v));
const textOrNull = (v: Cell | undefined): string | null => (v === null || v === undefined ? null : text(v));
const bytes = (v: Cell | undefined): Buffer | null => (v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : null);
const json = (v: Cell | undefined): string | null => (v === null || v === undefined ? null : pgJson(JSON.parse(str(v))));
const time = (v: Cell | undefined): Date => new Date(str(v));

const FEEDBACK: TableCopy = {
  table: 'feedback',
  time: 'received_at',
  columns: FEEDBACK_COLUMNS,
  key: ['card_uuid', 'service_id', 'outcome', 'outcome_timestamp'],
  values: (r) => [text(r['service_id']), text(r['card_uuid']), r['outcome'], json(r['accepted_suggestions']), json(r['override_reason']), text(r['outcome_timestamp']), time(r['received_at'])],
};

const HOOK_INVOCATIONS: TableCopy = {
  table: 'hook_invocation',
  time: 'received_at',
  columns: INVOCATION_COLUMNS,
  key: ['request_id', 'service_id'],
  values: (r) => [
    time(r['received_at']), text(r['request_id']), text(r['service_id']), textOrNull(r['hook']), textOrNull(r['hook_instance']),
    textOrNull(r['patient_id']), text(r['client']), r['status'] ?? null, r['ms'], text(r['packs']), r['delivered'] === 1, bytes(r['request']), bytes(r['response']), bytes(r['fetched']),
  ],
};

const AUDIT_READS: TableCopy = {
  table: 'audit_read',
  time: 'at',
  columns: READ_COLUMNS,
  key: ['query', 'address', 'outcome', 'reader'],
  values: (r) => [time(r['at']), textOrNull(r['reader']), text(r['address']), r['outcome'], text(r['query']), r['rows']],
};

/** A row's identity: its time in ms and its identifying columns' values. */
const identity = (time: Date, key: readonly unknown[]): string => JSON.stringify([time.getTime(), ...key]);

/** One column's value among a row's values (in the order of the table's columns). */
const cell = (t: TableCopy, values: readonly unknown[], column: string): unknown => values[t.columns.indexOf(column)];

/** How many of each identity PostgreSQL holds among the chunk's candidates. */
async function present(client: pg.PoolClient, t: TableCopy, chunk: readonly unknown[][]): Promise<Map<string, number>> {
  const times = chunk.map((v) => (cell(t, v, t.time) as Date).getTime());
  const narrow = t.key[0] ?? t.time;
  const found = await client.query<Record<string, unknown>>(
    `SELECT ${[t.time, ...t.key].join(', ')} FROM ${t.table} WHERE ${t.time} BETWEEN $1 AND $2 AND ${narrow} = ANY($3)`,
    [new Date(Math.min(...times)), new Date(Math.max(...times)), [...new Set(chunk.map((v) => cell(t, v, narrow)))]]
  );
  const counts = new Map<string, number>();
  for (const row of found.rows) {
    const id = identity(row[t.time] as Date, t.key.map((k) => row[k] ?? null));
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

async function copyTable(db: DatabaseSync | undefined, shared: SharedDatabase, t: TableCopy): Promise<TableCopied> {
  const exists = db?.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t.table);
  if (db === undefined || exists === undefined) return { copied: 0, present: 0 };
  const select = db.prepare(`SELECT * FROM ${t.table} WHERE id > ? ORDER BY id LIMIT ?`);
  let copied = 0;
  let already = 0;
  for (let after = 0; ; ) {
    const rows = select.all(after, CHUNK) as SqliteRow[];
    if (rows.length === 0) break;
    after = Number(rows.at(-1)?.['id']);
    const chunk = rows.map(t.values);
    await shared.run(`copy ${t.table}`, (pool) =>
      inTransaction(pool, async (client) => {
        const counts = await present(client, t, chunk);
        const missing = chunk.filter((v) => {
          const id = identity(cell(t, v, t.time) as Date, t.key.map((k) => cell(t, v, k) ?? null));
          const left = counts.get(id) ?? 0;
          if (left > 0) counts.set(id, left - 1);
          return left === 0;
        });
        await insertRows(client, t.table, t.columns, missing);
        copied += missing.length;
        already += chunk.length - missing.length;
      })
    );
  }
  return { copied, present: already };
}

/**
 * Copies the files' feedback and audit log into PostgreSQL (its tables exist once `shared.ready` settles).
 * @param sources - the open SQLite databases.
 * @param shared - the shared database.
 * @param who - how the copy is named in the audit log's reads (a reader's name), and from where (an address).
 * @param clock - the time of that read.
 * @returns what was copied and what was there already.
 */
export async function copyToPostgres(sources: CopySources, shared: SharedDatabase, who: { reader: string; address: string; query: string }, clock: () => Date = () => new Date()): Promise<CopyReport> {
  const feedback = await copyTable(sources.store, shared, FEEDBACK);
  const hookInvocations = await copyTable(sources.audit, shared, HOOK_INVOCATIONS);
  const auditReads = await copyTable(sources.audit, shared, AUDIT_READS);
  if (sources.audit !== undefined) {
    // Reading the whole log to copy it is a read of the log: recorded as one, with the rows it carried over.
    await shared.run('copy recorded', (pool) =>
      insertRows(pool, 'audit_read', READ_COLUMNS, [[clock(), pgText(who.reader), pgText(who.address), 'allowed', pgText(who.query), hookInvocations.copied + auditReads.copied]])
    );
  }
  return { feedback, hookInvocations, auditReads };
}
