import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { captureLog } from '../../test/support/harness.js';
import { freshPostgresDatabase } from '../../test/support/postgres.js';
import { invocationsQuery } from './audit-query.js';
import { auditStore, SQLITE_DIALECT } from './audit-store.js';
import type { InvocationFilter, InvocationRecord } from './audit-store.js';
import { openPrivateDatabase } from './database.js';
import { POSTGRES_DIALECT, postgresAuditStore } from './postgres-audit-store.js';
import { SCHEMA_LOCK } from './postgres-schema.js';
import { openSharedDatabase } from './postgres.js';

const opened: { close(): void }[] = [];
const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) db.close();
  await Promise.all(closing.splice(0).map((close) => close()));
});

function sqliteFile(path = join(mkdtempSync(join(tmpdir(), 'itcds-audit-query-')), 'audit.sqlite')): { db: DatabaseSync; path: string } {
  const { db } = openPrivateDatabase(path, 'NORMAL');
  opened.push(db);
  return { db, path };
}

const at = new Date('2026-11-20T10:00:00Z');
const call: InvocationRecord = {
  receivedAt: at, requestId: 'r1', serviceId: 's', hookInstance: 'h1', patientId: 'p1', client: 'c', status: 200, ms: 1,
  packs: 'p@1', delivered: true, request: '{}', response: '{"cards":[]}',
};

/**
 * Each way staff read the log, and the index that must carry it: a page of a patient's calls, of a time range, the
 * next page after any of them, one request, one hook instance. Without one, the database reads the whole log (with
 * SQLite on the event loop: 60-72 ms per 200,000 calls in the page cache, bench:audit-read in session 32).
 */
const shapes: [string, InvocationFilter, string][] = [
  ['a patient', { patientId: 'p1', limit: 50 }, 'hook_invocation_patient_time'],
  ['a patient, next page', { patientId: 'p1', before: { at, id: 9 }, limit: 50 }, 'hook_invocation_patient_time'],
  ['a patient in a time range', { patientId: 'p1', since: new Date(0), until: at, limit: 50 }, 'hook_invocation_patient_time'],
  ['a request', { requestId: 'r1', limit: 50 }, 'hook_invocation_request'],
  ['a hook instance', { hookInstance: 'h1', limit: 50 }, 'hook_invocation_instance'],
  ['the next page', { before: { at, id: 9 }, limit: 50 }, 'hook_invocation_received'],
  ['a time range', { since: new Date(0), until: at, limit: 50 }, 'hook_invocation_received'],
];

describe('reading the audit log in SQLite', () => {
  it.each(shapes)('seeks %s through its index', (_name, filter, index) => {
    const { db } = sqliteFile();
    auditStore(db);
    const q = invocationsQuery(filter, SQLITE_DIALECT);
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...(q.values as string[])) as { detail: string }[]).map((r) => r.detail);
    expect(plan[0]).toMatch(new RegExp(`^SEARCH hook_invocation USING INDEX ${index} \\(`));
  });

  it('indexes a log made before session 32 once, saying so, and keeps its rows', async () => {
    const { db, path } = sqliteFile();
    await auditStore(db).record(call);
    // The indexes such a log had: the patient's by id, none by request.
    db.exec('DROP INDEX hook_invocation_patient_time; DROP INDEX hook_invocation_request');
    db.exec('CREATE INDEX hook_invocation_patient ON hook_invocation (patient_id, id)');
    const first = captureLog();
    const store = auditStore(sqliteFile(path).db, first.log);
    expect(first.lines.join('')).toMatch(/indexing it by patient and by request, once/);
    const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'hook_invocation' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(indexes).toEqual(['hook_invocation_instance', 'hook_invocation_patient_time', 'hook_invocation_received', 'hook_invocation_request']);
    expect((await store.search({ patientId: 'p1', limit: 10 })).map((r) => r.requestId)).toEqual(['r1']);
    const again = captureLog();
    auditStore(sqliteFile(path).db, again.log);
    expect(again.lines).toEqual([]);
  });

  it('makes a second process opening the log wait while the first indexes it, past the usual busy timeout', async () => {
    const { db, path } = sqliteFile();
    await auditStore(db).record(call);
    db.exec('DROP INDEX hook_invocation_patient_time; DROP INDEX hook_invocation_request');
    // This connection stands for the first process: it holds the write lock, as its indexing does, for longer than
    // BUSY_TIMEOUT_MS (5 s) after the second process has begun to open the log.
    db.exec('BEGIN IMMEDIATE');
    const script = `import { openPrivateDatabase } from './src/store/database.ts';
      import { auditStore } from './src/store/audit-store.ts';
      process.stdout.write('opening\\n');
      auditStore(openPrivateDatabase(${JSON.stringify(path)}, 'NORMAL').db);
      process.stdout.write('opened\\n');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await vi.waitFor(() => expect(out).toContain('opening'), { timeout: 20_000, interval: 50 });
    await new Promise((resolve) => setTimeout(resolve, 6500));
    expect(out).not.toContain('opened');
    db.exec('COMMIT');
    expect(await exited, err).toBe(0);
    expect(out).toContain('opened');
    const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'hook_invocation_request'").all() as unknown[]);
    expect(indexes).toHaveLength(1);
  }, 40_000);

  it('says nothing when it indexes a new, empty log', () => {
    const { lines, log } = captureLog();
    auditStore(sqliteFile().db, log);
    expect(lines).toEqual([]);
  });
});

describe('reading the audit log in PostgreSQL', () => {
  async function database(log = captureLog().log): Promise<{ url: string; client: pg.Client }> {
    const url = await freshPostgresDatabase();
    const shared = openSharedDatabase(url, log);
    closing.push(() => shared.close());
    await shared.indexed;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    closing.push(() => client.end());
    return { url, client };
  }

  it.each(shapes)('can seek %s through its index', async (_name, filter, index) => {
    const { client } = await database();
    // On an empty table the planner rightly prefers reading it whole; this asks whether an index could serve instead.
    await client.query('SET enable_seqscan = off');
    const q = invocationsQuery(filter, POSTGRES_DIALECT);
    const plan = (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${q.sql}`, q.values)).rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(new RegExp(`\\b${index}\\b`));
    expect(plan).not.toMatch(/Seq Scan/);
  });

  it('makes an instance starting while another holds the schema lock wait, past the statement timeout', async () => {
    const { url, client } = await database();
    // This connection stands for an instance of a version before session 33, which held the schema's advisory lock
    // while it built indexes in its transaction.
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    const second = openSharedDatabase(url, captureLog().log, { timeoutMs: 500, retryAfterS: 1 });
    closing.push(() => second.close());
    let ready = false;
    void second.ready.then(() => (ready = true), () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(ready).toBe(false);
    // Meanwhile a call that needs the database gets 503 after the usual timeout rather than waiting for the index.
    await expect(second.run('a hook call', () => Promise.resolve('ran'))).rejects.toMatchObject({ status: 503 });
    await client.query('COMMIT');
    await second.ready;
    // After the Retry-After the 503 named (1 s here), the next call reaches the database.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await expect(second.run('a hook call', () => Promise.resolve('ran'))).resolves.toBe('ran');
  });

  /** The log as a version before session 32 left it: the patient's index by id, none by request. */
  async function makeOld(client: pg.Client): Promise<void> {
    await client.query('DROP INDEX hook_invocation_patient_time; DROP INDEX hook_invocation_request');
    await client.query('CREATE INDEX hook_invocation_patient ON hook_invocation (patient_id, id)');
  }

  async function indexesOf(client: pg.Client): Promise<string[]> {
    const found = await client.query<{ name: string }>("SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'hook_invocation'::regclass AND i.indisvalid ORDER BY name");
    return found.rows.map((r) => r.name);
  }

  const NOW_INDEXES = ['hook_invocation_instance', 'hook_invocation_patient_time', 'hook_invocation_pkey', 'hook_invocation_received', 'hook_invocation_request'];

  it('indexes a log made before session 32 once, saying so, and keeps its rows', async () => {
    const { url, client } = await database();
    await makeOld(client);
    const { lines, log } = captureLog();
    const shared = openSharedDatabase(url, log);
    closing.push(() => shared.close());
    // An empty log is indexed without a word.
    await shared.indexed;
    expect(lines.join('')).not.toMatch(/building/);
    await postgresAuditStore(shared).record(call);
    // Rows in an old log: the next start indexes it, and says which index and how long it took.
    await makeOld(client);
    const next = captureLog();
    const reopened = openSharedDatabase(url, next.log);
    closing.push(() => reopened.close());
    await reopened.indexed;
    const said = next.lines.join('');
    expect(said).toMatch(/"index":"hook_invocation_patient_time".*building a missing index, once, while the service answers/);
    expect(said).toMatch(/"index":"hook_invocation_request","ms":\d+.*index built/);
    expect(said).not.toMatch(/hook_invocation_received/);
    expect(await indexesOf(client)).toEqual(NOW_INDEXES);
    expect((await postgresAuditStore(reopened).search({ patientId: 'p1', limit: 10 })).map((r) => r.requestId)).toEqual(['r1']);
  });

  it('answers, and lets instances of the version before go on writing, while it builds an index', async () => {
    const { url, client } = await database();
    await makeOld(client);
    await client.query("INSERT INTO hook_invocation (received_at, request_id, service_id, client, ms, packs, delivered) VALUES (now(), 'r0', 's', 'c', 1, 'p', true)");
    // A write of an instance still running, not yet committed: any build of an index on the table waits for it.
    const running = new pg.Client({ connectionString: url });
    await running.connect();
    closing.push(() => running.end());
    await running.query('BEGIN');
    await running.query("INSERT INTO hook_invocation (received_at, request_id, service_id, client, ms, packs, delivered) VALUES (now(), 'r-open', 's', 'c', 1, 'p', true)");
    const { lines, log } = captureLog();
    const upgraded = openSharedDatabase(url, log, { timeoutMs: 2000 });
    closing.push(() => upgraded.close());
    // The new instance answers: its tables exist, and its calls do not wait for the build.
    await upgraded.ready;
    await postgresAuditStore(upgraded).record({ ...call, requestId: 'r-new' });
    await expect.poll(() => lines.join(''), { timeout: 5000 }).toMatch(/building a missing index/);
    // Another instance of the version before writes meanwhile. A plain CREATE INDEX would hold a lock that queues
    // this insert behind it until the open write ends and the index is built; it would fail its lock timeout.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    closing.push(() => other.end());
    await other.query("SET lock_timeout = '1s'");
    await other.query("INSERT INTO hook_invocation (received_at, request_id, service_id, client, ms, packs, delivered) VALUES (now(), 'r-other', 's', 'c', 1, 'p', true)");
    expect(await indexesOf(client)).not.toContain('hook_invocation_patient_time');
    await running.query('COMMIT');
    await upgraded.indexed;
    expect(await indexesOf(client)).toEqual(NOW_INDEXES);
    const requests = (await client.query<{ r: string }>('SELECT request_id AS r FROM hook_invocation ORDER BY request_id')).rows.map((row) => row.r);
    expect(requests).toEqual(['r-new', 'r-open', 'r-other', 'r0']);
  });

  it('builds again an index that an interrupted build left unfinished', async () => {
    const { url, client } = await database();
    await client.query('DROP INDEX hook_invocation_request');
    await client.query("INSERT INTO hook_invocation (received_at, request_id, service_id, client, ms, packs, delivered) VALUES (now(), 'same', 's', 'c', 1, 'p', true), (now(), 'same', 's', 'c', 1, 'p', true)");
    // A concurrent build that fails leaves its index behind, invalid: here a unique one on duplicates.
    await expect(client.query('CREATE UNIQUE INDEX CONCURRENTLY hook_invocation_request ON hook_invocation (request_id)')).rejects.toThrow(/could not create unique index/);
    expect(await indexesOf(client)).not.toContain('hook_invocation_request');
    const { lines, log } = captureLog();
    const reopened = openSharedDatabase(url, log);
    closing.push(() => reopened.close());
    await reopened.indexed;
    expect(lines.join('')).toMatch(/"index":"hook_invocation_request".*left this index unfinished; building it again/);
    expect(await indexesOf(client)).toEqual(NOW_INDEXES);
    const unique = await client.query<{ unique: boolean }>("SELECT indisunique AS unique FROM pg_index WHERE indexrelid = 'hook_invocation_request'::regclass");
    expect(unique.rows[0]?.unique).toBe(false);
  });

  it('builds each index once when instances of the new version start together', async () => {
    const { url, client } = await database();
    await makeOld(client);
    await client.query("INSERT INTO hook_invocation (received_at, request_id, service_id, client, ms, packs, delivered) SELECT now(), 'r' || i, 's', 'c', 1, 'p', true FROM generate_series(1, 20000) i");
    const logs = [captureLog(), captureLog(), captureLog()];
    const all = logs.map(({ log }) => openSharedDatabase(url, log));
    closing.push(...all.map((db) => () => db.close()));
    await Promise.all(all.map((db) => db.indexed));
    const said = logs.flatMap((l) => l.lines);
    expect(said.filter((line) => line.includes('building a missing index'))).toHaveLength(2);
    expect(said.filter((line) => /"level":(40|50)/.test(line))).toEqual([]);
    expect(await indexesOf(client)).toEqual(NOW_INDEXES);
  });
});
