/**
 * The audit log in the shared PostgreSQL database (DATABASE_URL): every instance writes its hook invocations and
 * the reads of the log there, so a reader sees the calls all instances answered, through any of them. The rows are
 * the SQLite store's (audit-store.ts), bodies Brotli-compressed alike (body-compressor.ts). Text reaches PostgreSQL
 * without NUL characters (pgText), searches included. Old rows are deleted in chunks of their own statements, so a
 * large prune neither runs into the statement timeout nor holds its locks for long.
 */
import { invocationsQuery, readsQuery } from './audit-query.js';
import type { Dialect } from './audit-query.js';
import { bodiesOf, fromInvocationRow, READ_COLUMNS } from './audit-store.js';
import { compressHere } from './body-compressor.js';
import type { BodyCompressor } from './body-compressor.js';
import type { AuditRead, AuditStore, InvocationFilter, InvocationRecord, InvocationRow, ReadFilter, StoredInvocation, StoredRead } from './audit-store.js';
import { mapInTurns } from './in-turns.js';
import { insertRows, inTransaction, pgText } from './postgres.js';
import type { SharedDatabase } from './postgres.js';

/** The columns of `hook_invocation` besides its id, in the order of a row's values. */
export const INVOCATION_COLUMNS = ['received_at', 'request_id', 'service_id', 'hook', 'hook_instance', 'patient_id', 'client', 'status', 'ms', 'packs', 'delivered', 'request', 'response', 'fetched'];
/** Rows deleted per statement when pruning. */
const PRUNE_CHUNK = 5000;

/** A row as PostgreSQL returns it: a bigint id as text, a timestamp, a boolean and byte arrays. */
type PgInvocationRow = Omit<InvocationRow, 'id' | 'received_at' | 'delivered' | 'request' | 'response' | 'fetched'> & {
  id: string;
  received_at: Date;
  delivered: boolean;
  request: Buffer | null;
  response: Buffer | null;
  fetched: Buffer | null;
};

interface ReadRow {
  id: string;
  at: Date;
  reader: string | null;
  address: string;
  outcome: AuditRead['outcome'];
  query: string;
  rows: number;
}

const orNull = (value: string | undefined): string | null => (value === undefined ? null : pgText(value));

function rowValues(e: InvocationRecord, bodies: readonly (Buffer | null | undefined)[]): unknown[] {
  return [
    e.receivedAt, pgText(e.requestId), pgText(e.serviceId), orNull(e.hook), orNull(e.hookInstance), orNull(e.patientId),
    pgText(e.client), e.status, e.ms, pgText(e.packs), e.delivered, ...bodies.map((b) => b ?? null),
  ];
}

/** The rows of a batch, its bodies compressed first (`bodiesOf` each record, in order). */
async function batchValues(entries: readonly InvocationRecord[], compressor: BodyCompressor): Promise<unknown[][]> {
  const packed = await compressor.compress(entries.flatMap((e) => bodiesOf(e)));
  const per = packed.length / Math.max(entries.length, 1);
  return entries.map((e, i) => rowValues(e, packed.slice(per * i, per * (i + 1))));
}

/** How PostgreSQL takes a value: numbered placeholders, text without NULs, times as Dates. */
export const POSTGRES_DIALECT: Dialect = { placeholder: (n) => `$${String(n)}`, text: pgText, time: (d) => d };

/** A PostgreSQL row as SQLite's, which the shared reading turns into what a reader sees. */
const toInvocation = (r: PgInvocationRow): StoredInvocation =>
  fromInvocationRow({ ...r, id: Number(r.id), received_at: r.received_at.toISOString(), delivered: r.delivered ? 1 : 0 });

const toRead = (r: ReadRow): StoredRead => ({ ...r, id: Number(r.id), at: r.at.toISOString() });

/**
 * The audit store in the shared PostgreSQL database (its tables are created when it opens).
 * @param shared - the open shared database.
 * @param compressor - what compresses the bodies: the service passes a worker thread's; by default the event loop.
 * @returns the store.
 */
export function postgresAuditStore(shared: SharedDatabase, compressor: BodyCompressor = compressHere): AuditStore {
  const recordAll = async (entries: readonly InvocationRecord[]): Promise<void> => {
    if (entries.length === 0) return;
    // Compressed before a connection is taken, so none is held meanwhile.
    const rows = await batchValues(entries, compressor);
    await shared.run('audit write', (pool) =>
      inTransaction(pool, (client) => insertRows(client, 'hook_invocation', INVOCATION_COLUMNS, rows))
    );
  };
  return {
    recordAll,
    record: (entry) => recordAll([entry]),
    search: (f: InvocationFilter) => shared.run('audit search', async (pool) => {
      const q = invocationsQuery(f, POSTGRES_DIALECT);
      const result = await pool.query<PgInvocationRow>(q.sql, q.values);
      return mapInTurns(result.rows, toInvocation);
    }),
    recordRead: (r) => shared.run('audit read record', (pool) =>
      insertRows(pool, 'audit_read', READ_COLUMNS, [[r.at, orNull(r.reader), pgText(r.address), r.outcome, pgText(r.query), r.rows]])
    ),
    reads: (f: ReadFilter) => shared.run('audit reads', async (pool) => {
      const q = readsQuery(f, POSTGRES_DIALECT);
      const result = await pool.query<ReadRow>(q.sql, q.values);
      return result.rows.map(toRead);
    }),
    prune: (before) => shared.run('audit prune', async (pool) => {
      let deleted = 0;
      for (const [table, column] of [['hook_invocation', 'received_at'], ['audit_read', 'at']] as const) {
        for (;;) {
          const result = await pool.query(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE ${column} < $1 LIMIT ${String(PRUNE_CHUNK)})`, [before]);
          deleted += result.rowCount ?? 0;
          if ((result.rowCount ?? 0) < PRUNE_CHUNK) break;
        }
      }
      return deleted;
    }),
  };
}
