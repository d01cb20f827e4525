/**
 * The shared PostgreSQL database (DATABASE_URL), for state that several instances of the service must share:
 * feedback, the JWT replay store and the audit log. (SQLite's file is shared only by the processes of one machine.)
 * A pool of connections from `pg`; the tables are created at start when missing, and the indexes built after them
 * while the instance answers (postgres-schema.ts). Any fault reaching the database answers 503 with Retry-After,
 * never a 500, and is logged with its code and message only (never the statement's values).
 */
import pg from 'pg';
import { serviceUnavailable } from '../http/outcomes.js';
import type { Logger } from '../log.js';
import { buildIndexes, createTables } from './postgres-schema.js';

/**
 * Seconds a caller is asked to wait when the database cannot be reached; for as long, later calls answer 503 at once
 * instead of each waiting out TIMEOUT_MS, and then one call tries the database again.
 */
const RETRY_AFTER_S = 5;
/** Milliseconds to get a connection, and for one statement: a database that hangs must not hang the hook calls. */
const TIMEOUT_MS = 5000;
/** Connections per process when not configured (DATABASE_POOL_SIZE has the same default, the `pg` driver's own). */
const DEFAULT_POOL_SIZE = 10;
/** How the pool is shaped; tests shorten the waits. */
export interface SharedDatabaseOptions {
  /** Connections this process may hold (DATABASE_POOL_SIZE). */
  readonly poolSize?: number;
  /** Milliseconds to connect, and for one statement. */
  readonly timeoutMs?: number;
  /** Seconds of Retry-After, and of answering 503 at once after a call could not reach the database. */
  readonly retryAfterS?: number;
}

/** An open shared database. */
export interface SharedDatabase {
  /**
   * Runs work against the pool once the tables exist; a database fault becomes a 503.
   * @param what - what was being done, for the log.
   * @param work - the queries.
   * @returns what the work returns.
   */
  run<T>(what: string, work: (pool: pg.Pool) => Promise<T>): Promise<T>;
  /** Settles when the tables exist; rejects when the database could not be reached or set up. */
  readonly ready: Promise<void>;
  /**
   * Settles when the indexes are built (by this instance or another), or building them failed (logged); never
   * rejects. Calls do not wait for it: until then a read an index would serve reads the table instead.
   */
  readonly indexed: Promise<void>;
  /** Closes every connection. */
  close(): Promise<void>;
}

function describe(err: unknown): { code?: string; message: string } {
  const e = err as { code?: unknown; message?: unknown } | null;
  return { ...(typeof e?.code === 'string' ? { code: e.code } : {}), message: typeof e?.message === 'string' ? e.message : String(err) };
}

/**
 * Whether a fault was the statement's own (SQLSTATE class 22, data exception, or 23, integrity constraint): the
 * database answered, so it says nothing about whether the next call will reach it.
 */
function statementFault(err: unknown): boolean {
  const code = describe(err).code;
  return code !== undefined && /^2[23][0-9A-Z]{3}$/.test(code);
}

/**
 * Text as PostgreSQL can store it: its `text` cannot hold U+0000, which a sloppy client may send inside a JSON
 * string, so each NUL becomes U+FFFD (the replacement character). Without this the insert fails and the call would
 * answer 503 for a harmless character.
 * @param value - the text.
 * @returns the text without NUL characters.
 */
export function pgText(value: string): string {
  return value.replaceAll('\u0000', '\ufffd');
}

/**
 * A value as JSON text for a `jsonb` column, which refuses the escape `\u0000` as its `text` refuses the character:
 * each escaped NUL, in a key or a value, becomes U+FFFD. An escaped backslash before `u0000` is left alone.
 * @param value - the value.
 * @returns its JSON text.
 */
export function pgJson(value: unknown): string {
  return JSON.stringify(value).replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\ufffd');
}

/**
 * Runs work in one transaction on one connection of the pool: committed whole, or rolled back and rethrown.
 * @param pool - the pool.
 * @param work - the statements, on the transaction's connection.
 */
export async function inTransaction(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await work(client);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Rows per INSERT: well under PostgreSQL's 65,535 parameters in one statement for a table of a dozen columns. */
const ROWS_PER_INSERT = 500;

/**
 * Inserts rows with as few statements as it can (ROWS_PER_INSERT rows each): on a transaction's connection, or on
 * the pool for rows that fit one statement.
 * @param client - the connection, or the pool.
 * @param table - the table.
 * @param columns - the columns given, in the order of each row's values.
 * @param rows - the rows' values.
 */
export async function insertRows(client: pg.PoolClient | pg.Pool, table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const chunk = rows.slice(i, i + ROWS_PER_INSERT);
    const tuples = chunk.map((_row, r) => `(${columns.map((_c, c) => `$${r * columns.length + c + 1}`).join(', ')})`);
    await client.query(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`, chunk.flat());
  }
}

/**
 * Milliseconds the tables' creation may take, instead of TIMEOUT_MS: an instance of a version before session 33,
 * still starting during a rolling upgrade, holds the schema's lock while it builds indexes in its transaction.
 */
const SCHEMA_TIMEOUT_MS = 600_000;

/** The schema's own connection, and what it does: the tables first, then the indexes (postgres-schema.ts). */
interface SchemaWork {
  /** Settles when the tables exist. */
  readonly tables: Promise<void>;
  /** Settles when the indexes are built, or building them failed (logged); never rejects. */
  readonly indexes: Promise<void>;
  /**
   * Ends the connection. A build under way goes on in the server to its end, or stops there unfinished, which the
   * next start builds again.
   */
  stop(): Promise<void>;
}

function makeSchema(url: string, connectTimeoutMs: number, log: Logger): SchemaWork {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs, statement_timeout: SCHEMA_TIMEOUT_MS, query_timeout: SCHEMA_TIMEOUT_MS + 1000 });
  // A connection lost after it was made is reported here (and its query rejects); unhandled, it would end the process.
  client.on('error', () => undefined);
  let stopped = false;
  const tables = client.connect().then(() => createTables(client));
  const indexes = tables
    .then(
      async () => {
        // A build runs alongside the calls and lets writes through; on a large log it takes minutes, so no timeout.
        await client.query('SET statement_timeout = 0');
        await buildIndexes(client, log);
      },
      // The tables' failure is reported through `ready`.
      () => undefined
    )
    .catch((err: unknown) => {
      if (!stopped) log.error({ err: describe(err) }, 'shared database: building its indexes failed; reads that need them are slow until the next start builds them');
    })
    .finally(() => client.end().catch(() => undefined));
  return {
    tables,
    indexes,
    async stop() {
      stopped = true;
      await client.end().catch(() => undefined);
      await indexes;
    },
  };
}

/**
 * Opens the shared database and creates its tables when missing.
 *
 * A call that cannot reach the database (refused, timed out, lost) answers 503 and makes the calls of the next
 * Retry-After seconds answer 503 at once, without touching the network or writing to the log: a database that hangs
 * would otherwise hold every hook call for the whole timeout, and fill the log. Then one call at a time tries again
 * until one gets through.
 * @param url - DATABASE_URL (postgres://user:password@host:port/database); never logged, it holds the password.
 * @param log - where faults are reported.
 * @param options - pool size and waits.
 * @returns the database; await `ready` before relying on it.
 */
export function openSharedDatabase(url: string, log: Logger, options: SharedDatabaseOptions = {}): SharedDatabase {
  const timeout = options.timeoutMs ?? TIMEOUT_MS;
  const retryAfterS = options.retryAfterS ?? RETRY_AFTER_S;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    connectionTimeoutMillis: timeout,
    statement_timeout: timeout,
    query_timeout: timeout + 1000,
  });
  // An idle connection the server closed (a restart, a failover) is reported here; unhandled, it would end the process.
  pool.on('error', (err) => log.warn({ err: describe(err) }, 'shared database: an idle connection was lost; the next call opens another'));
  const schema = makeSchema(url, timeout, log);
  const ready = schema.tables;
  let made = false;
  ready.then(() => (made = true), () => undefined);
  // A call does not wait for the tables longer than for any statement: an instance of a version before session 33 may
  // hold the schema's lock while it builds an index on a large audit log, and a database that hangs while they are
  // made must not hang the calls.
  const tablesMade = (): Promise<void> => made ? Promise.resolve() : new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('its tables are not made yet: the database is slow to answer, or another instance holds the lock under which they are made')), timeout);
    ready.then(resolve, reject).finally(() => clearTimeout(timer));
  });
  const unavailable = () => serviceUnavailable('The service cannot reach its database, so the call was not processed (nothing was stored); retry shortly', retryAfterS);
  // Until when calls answer 503 at once (performance.now()), and whether a call is trying the database meanwhile.
  let downUntil: number | undefined;
  let trying = false;
  return {
    ready,
    async run(what, work) {
      if (downUntil !== undefined && (trying || performance.now() < downUntil)) throw unavailable();
      const probe = downUntil !== undefined;
      trying = probe;
      try {
        await tablesMade();
        const result = await work(pool);
        if (probe) log.info({ what }, 'shared database (DATABASE_URL) reachable again');
        downUntil = undefined;
        return result;
      } catch (err) {
        if (!statementFault(err)) downUntil = performance.now() + retryAfterS * 1000;
        log.error({ what, err: describe(err) }, 'shared database (DATABASE_URL) unavailable');
        throw unavailable();
      } finally {
        if (probe) trying = false;
      }
    },
    indexed: schema.indexes,
    async close() {
      await schema.stop();
      await pool.end();
    },
  };
}
