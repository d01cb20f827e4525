/**
 * The shared database's tables and indexes (postgres.ts opens it). Tables are made in one short transaction under an
 * advisory lock, so instances starting together do not race. Indexes are built after it, concurrently
 * (`CREATE INDEX CONCURRENTLY`), while the instance already answers: a plain `CREATE INDEX` on a populated audit log
 * takes a lock that stops every insert into it until the index is built (0.2-0.3 s per 200,000 calls here), and the
 * instances of the version before, still running during a rolling upgrade, would have their audit writes wait out
 * their statement timeout and drop records once their queue filled.
 */
import type pg from 'pg';
import type { Logger } from '../log.js';

/** The advisory lock key under which the tables are created (any fixed 64-bit number of this service's own). */
export const SCHEMA_LOCK = 4_216_732_907;
/** The advisory lock key held while one instance builds the indexes; another instance waits its turn by polling. */
const INDEX_LOCK = 4_216_732_908;
/** How often an instance asks for INDEX_LOCK while another builds (a blocking wait could deadlock with the build). */
const INDEX_LOCK_POLL_MS = 500;
/**
 * The driver's own wait for a build's answer, instead of the connection's (set for the tables): a build on a large
 * log takes as long as it takes (the longest timer Node allows, about 24 days).
 */
const BUILD_WAIT_MS = 2_147_483_647;

/** Runs a statement that builds or drops an index, as long as it takes. */
async function build(client: pg.Client, text: string): Promise<void> {
  // The driver reads a query's own `query_timeout` before the connection's; its types do not declare it.
  const statement: pg.QueryConfig & { query_timeout: number } = { text, query_timeout: BUILD_WAIT_MS };
  await client.query(statement);
}

/** The tables, created when missing. */
const TABLES = [
  `CREATE TABLE IF NOT EXISTS feedback (
    id BIGSERIAL PRIMARY KEY,
    service_id TEXT NOT NULL,
    card_uuid TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'overridden')),
    accepted_suggestions JSONB,
    override_reason JSONB,
    outcome_timestamp TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
  )`,
  'CREATE TABLE IF NOT EXISTS jwt_seen (issuer TEXT NOT NULL, jti TEXT NOT NULL, expires_at BIGINT NOT NULL, PRIMARY KEY (issuer, jti))',
  // The audit log (postgres-audit-store.ts): as in SQLite, bodies Brotli-compressed.
  `CREATE TABLE IF NOT EXISTS hook_invocation (
    id BIGSERIAL PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL,
    request_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    hook TEXT,
    hook_instance TEXT,
    patient_id TEXT,
    client TEXT NOT NULL,
    status INTEGER,
    ms DOUBLE PRECISION NOT NULL,
    packs TEXT NOT NULL,
    delivered BOOLEAN NOT NULL,
    request BYTEA,
    response BYTEA,
    fetched BYTEA
  )`,
  `CREATE TABLE IF NOT EXISTS audit_read (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    reader TEXT,
    address TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('allowed', 'refused', 'invalid')),
    query TEXT NOT NULL,
    rows INTEGER NOT NULL
  )`,
];

/**
 * Columns added after their table was first made: `[table, column, type]`. Each is added only when missing (the
 * check reads the catalogue; adding it takes a lock on the table, for a moment: a column with no default changes
 * only the table's definition).
 */
const ADDED_COLUMNS: readonly (readonly [string, string, string])[] = [
  // Session 37: what the service read from the EHR for a call.
  ['hook_invocation', 'fetched', 'BYTEA'],
];

/** An index the service reads by. */
interface IndexDefinition {
  readonly name: string;
  readonly table: string;
  /** The indexed columns, as SQL. */
  readonly columns: string;
}

/**
 * The indexes. The audit log is read by time, patient then time, request and hook instance (audit-query.ts); a log
 * made before session 32 had the patient's index by id (dropped below) and none by request.
 */
const INDEXES: readonly IndexDefinition[] = [
  { name: 'feedback_card', table: 'feedback', columns: 'card_uuid' },
  { name: 'jwt_seen_expiry', table: 'jwt_seen', columns: 'expires_at' },
  { name: 'hook_invocation_received', table: 'hook_invocation', columns: 'received_at' },
  { name: 'hook_invocation_patient_time', table: 'hook_invocation', columns: 'patient_id, received_at, id' },
  { name: 'hook_invocation_request', table: 'hook_invocation', columns: 'request_id' },
  { name: 'hook_invocation_instance', table: 'hook_invocation', columns: 'hook_instance' },
  { name: 'audit_read_at', table: 'audit_read', columns: 'at' },
];

/** Indexes of earlier versions that nothing reads by any more. */
const DROPPED = ['hook_invocation_patient'];

/**
 * Creates the tables that are missing, in one transaction under SCHEMA_LOCK.
 * @param client - a connection of its own (its statement timeout must allow for another instance holding the lock).
 */
export async function createTables(client: pg.Client): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    for (const statement of TABLES) await client.query(statement);
    for (const [table, column, type] of ADDED_COLUMNS) {
      const found = await client.query('SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2', [table, column]);
      if (found.rowCount === 0) await client.query(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Whether the index exists and is usable (`valid`), exists but was left unfinished, or is missing. */
async function indexState(client: pg.Client, name: string): Promise<'valid' | 'unfinished' | 'missing'> {
  const found = await client.query<{ valid: boolean }>('SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)', [name]);
  const row = found.rows[0];
  return row === undefined ? 'missing' : row.valid ? 'valid' : 'unfinished';
}

/** Waits, polling, until this connection holds INDEX_LOCK. */
async function takeIndexLock(client: pg.Client): Promise<void> {
  for (;;) {
    const got = await client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1) AS got', [INDEX_LOCK]);
    if (got.rows[0]?.got === true) return;
    await new Promise((resolve) => setTimeout(resolve, INDEX_LOCK_POLL_MS));
  }
}

/** Builds one index concurrently, saying so when its table holds rows (on an empty one it takes no time). */
async function buildIndex(client: pg.Client, index: IndexDefinition, log: Logger): Promise<void> {
  const state = await indexState(client, index.name);
  if (state === 'valid') return;
  // An index a build left unfinished (the process stopped, the connection was lost) is kept up to date by writes but
  // never read; it is dropped and built again.
  if (state === 'unfinished') {
    log.warn({ index: index.name }, 'shared database: an earlier start left this index unfinished; building it again');
    await build(client, `DROP INDEX CONCURRENTLY IF EXISTS ${index.name}`);
  }
  const populated = (await client.query(`SELECT 1 FROM ${index.table} LIMIT 1`)).rowCount === 1;
  if (populated) log.info({ index: index.name }, 'shared database: building a missing index, once, while the service answers; on a large table this takes a while');
  const started = performance.now();
  await build(client, `CREATE INDEX CONCURRENTLY IF NOT EXISTS ${index.name} ON ${index.table} (${index.columns})`);
  if (populated) log.info({ index: index.name, ms: Math.round(performance.now() - started) }, 'shared database: index built');
}

/**
 * Builds the indexes that are missing or unfinished and drops those of earlier versions, concurrently: inserts and
 * reads go on meanwhile. One instance at a time (INDEX_LOCK); the others wait, then find them built.
 * @param client - a connection of its own, with no statement timeout (a build on a large log takes minutes).
 * @param log - where each build on a populated table is announced, with its time.
 */
export async function buildIndexes(client: pg.Client, log: Logger): Promise<void> {
  await takeIndexLock(client);
  try {
    for (const index of INDEXES) await buildIndex(client, index, log);
    for (const name of DROPPED) {
      if ((await indexState(client, name)) !== 'missing') await build(client, `DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [INDEX_LOCK]).catch(() => undefined);
  }
}
