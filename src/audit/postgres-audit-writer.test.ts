/**
 * The audit log in PostgreSQL (DATABASE_URL), written by its writer, on the run's real server: each test has a
 * database of its own. Faults are real: the table is renamed away under the open pool (every insert fails as it
 * would while a migration or a restore holds it) and renamed back (the database returns).
 */
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { captureLog } from '../../test/support/harness.js';
import { freshPostgresDatabase } from '../../test/support/postgres.js';
import type { AuditStore, InvocationRecord } from '../store/audit-store.js';
import { compressInWorker } from '../store/body-compressor.js';
import { postgresAuditStore } from '../store/postgres-audit-store.js';
import { openSharedDatabase } from '../store/postgres.js';
import { AuditSpool } from './audit-spool.js';
import { postgresAuditWriter } from './postgres-audit-writer.js';

/** A fresh spool folder. */
const spoolDir = (): string => join(mkdtempSync(join(tmpdir(), 'itcds-spool-')), 'audit-spool');

const toClose: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close();
});

const entry = (requestId: string, over: Partial<InvocationRecord> = {}): InvocationRecord => ({
  receivedAt: new Date('2026-11-20T10:00:00Z'), requestId, serviceId: 's', patientId: 'p', client: 'c', status: 200, ms: 1,
  packs: 'p@1', delivered: true, request: JSON.stringify({ hook: 'order-sign', n: requestId }), response: `{"cards":[],"id":"${requestId}"}`,
  ...over,
});

/**
 * A store on a fresh database, the log it reports to, and a way to run SQL beside it. After a failed call the
 * shared database answers 503 at once for `retryAfterS`: none by default here, so that each of the writer's attempts
 * reaches the database and is logged.
 */
async function fresh(retryAfterS = 0) {
  const url = await freshPostgresDatabase();
  const captured = captureLog();
  const shared = openSharedDatabase(url, captured.log, { retryAfterS });
  // The indexes too: the tests rename the table, which deadlocks with an index still being built on it (CI, once).
  await shared.ready;
  await shared.indexed;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  // The bodies are compressed in a worker thread, as the service does.
  const compressor = compressInWorker(captured.log);
  toClose.push(() => shared.close(), () => admin.end(), () => compressor.close());
  const store = postgresAuditStore(shared, compressor);
  const written = async (): Promise<string[]> => (await store.search({ limit: 1000 })).map((r) => r.requestId);
  const notWritten = (): unknown[] => captured.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'audit record not written');
  return { store, admin, ...captured, written, notWritten };
}

/** A log line of the shared database saying an audit write could not reach it. */
const failedWrite = (line: string): boolean => line.includes('"what":"audit write"') && line.includes('shared database (DATABASE_URL) unavailable');

/** Counts the store's batch writes, passing each through to the real store. */
function counted(store: AuditStore): { store: AuditStore; batches: number[] } {
  const batches: number[] = [];
  return { batches, store: { ...store, recordAll: (entries) => (batches.push(entries.length), store.recordAll(entries)) } };
}

describe('audit writer for PostgreSQL', () => {
  it('writes every record, bodies and all, by the time idle() settles, the calls of one moment in one batch', async () => {
    const f = await fresh();
    const { store, batches } = counted(f.store);
    const writer = postgresAuditWriter(store, f.log);
    for (let i = 1; i <= 50; i++) writer.record(entry(`r${i}`));
    await writer.idle();
    expect(await f.written()).toEqual(Array.from({ length: 50 }, (_, i) => `r${50 - i}`));
    expect((await f.store.search({ requestId: 'r7', limit: 1 }))[0]).toMatchObject({ request: { hook: 'order-sign', n: 'r7' }, response: { cards: [], id: 'r7' } });
    expect(batches).toEqual([50]);
    await writer.close();
  });

  it('keeps a batch through an outage and writes it when the database is back, its retries refused at once meanwhile', async () => {
    const f = await fresh(0.2);
    const writer = postgresAuditWriter(f.store, f.log, { retryDelaysMs: Array.from({ length: 100 }, () => 50) });
    await f.admin.query('ALTER TABLE hook_invocation RENAME TO hook_invocation_away');
    writer.record(entry('during'));
    // A reader does not wait out the retries: idle() settles once the first attempt has failed.
    await writer.idle();
    expect(f.lines.some((l) => failedWrite(l))).toBe(true);
    // What /healthz shows meanwhile: a write waiting to be tried again, nothing lost.
    expect(writer.state()).toEqual({ notWritten: 0, retrying: true });
    await f.admin.query('ALTER TABLE hook_invocation_away RENAME TO hook_invocation');
    await vi.waitFor(async () => expect(await f.written()).toEqual(['during']));
    expect(f.notWritten()).toEqual([]);
    expect(writer.state()).toEqual({ notWritten: 0, retrying: false });
    await writer.close();
  });

  it('gives a batch up after its retries, logs its request ids without its data, and goes on with the next', async () => {
    const f = await fresh();
    const writer = postgresAuditWriter(f.store, f.log, { retryDelaysMs: [10, 10] });
    await f.admin.query('ALTER TABLE hook_invocation RENAME TO hook_invocation_away');
    writer.record(entry('lost', { patientId: 'patient-secret-41' }));
    await vi.waitFor(() => expect(f.notWritten()).toHaveLength(1));
    await f.admin.query('ALTER TABLE hook_invocation_away RENAME TO hook_invocation');
    writer.record(entry('after'));
    await writer.idle();
    expect(await f.written()).toEqual(['after']);
    expect(f.notWritten()).toMatchObject([{ level: 50, requestIds: ['lost'] }]);
    expect(writer.state()).toEqual({ notWritten: 1, retrying: false });
    // Three attempts, each logged by the pool with what it was doing.
    expect(f.lines.filter((l) => failedWrite(l))).toHaveLength(3);
    expect(f.lines.join('\n')).not.toContain('patient-secret-41');
    await writer.close();
  });

  it('refuses records past its byte bound while the database is away, says so once, and takes them again after', async () => {
    const f = await fresh();
    const writer = postgresAuditWriter(f.store, f.log, { retryDelaysMs: Array.from({ length: 100 }, () => 20), maxQueuedBytes: 160 });
    await f.admin.query('ALTER TABLE hook_invocation RENAME TO hook_invocation_away');
    // Each record's bodies are 52 bytes: three fit under 160, the rest do not.
    for (let i = 1; i <= 6; i++) writer.record(entry(`q${i}`));
    await f.admin.query('ALTER TABLE hook_invocation_away RENAME TO hook_invocation');
    await vi.waitFor(async () => expect(await f.written()).toEqual(['q3', 'q2', 'q1']));
    writer.record(entry('after'));
    await writer.idle();
    expect(await f.written()).toEqual(['after', 'q3', 'q2', 'q1']);
    // Without a spool, those that came together are logged as not written together.
    expect(f.notWritten()).toMatchObject([{ requestIds: ['q4', 'q5', 'q6'] }]);
    expect(writer.state().notWritten).toBe(3);
    expect(f.lines.filter((l) => l.includes('audit writer full'))).toHaveLength(1);
    await writer.close();
  });

  it('with a spool, keeps a batch the database did not take through its retries on disk, and writes it once the database is back: nothing lost, nothing twice', async () => {
    const f = await fresh();
    const dir = spoolDir();
    const writer = postgresAuditWriter(f.store, f.log, { retryDelaysMs: [10], spool: new AuditSpool(dir, 1 << 20, f.log), spoolDrainMs: 50 });
    await f.admin.query('ALTER TABLE hook_invocation RENAME TO hook_invocation_away');
    writer.record(entry('s1', { patientId: 'patient-secret-42' }));
    writer.record(entry('s2'));
    await vi.waitFor(() => expect(f.lines.filter((l) => l.includes('audit records kept in the spool'))).toHaveLength(1));
    // This process's file (claimed by a drain tried meanwhile, if one came before the database was back).
    expect(readdirSync(dir)).toEqual([expect.stringMatching(new RegExp(`^audit-spool-(claimed-)?[a-z0-9.-]+_${String(process.pid)}(-0)?\\.jsonl$`)) as string]);
    expect(f.notWritten()).toEqual([]);
    // /healthz shows the bytes waiting on disk, and nothing lost.
    expect(writer.state()).toMatchObject({ notWritten: 0, spoolBytes: statSync(join(dir, readdirSync(dir)[0] ?? '')).size });
    expect(writer.state().spoolBytes).toBeGreaterThan(100);
    await f.admin.query('ALTER TABLE hook_invocation_away RENAME TO hook_invocation');
    // No call needed: the spool is offered to the database every spoolDrainMs while records wait.
    await vi.waitFor(async () => expect(await f.written()).toEqual(['s2', 's1']));
    writer.record(entry('s3'));
    await writer.idle();
    await vi.waitFor(async () => expect(await f.written()).toEqual(['s3', 's2', 's1']));
    expect((await f.store.search({ requestId: 's1', limit: 5 }))[0]).toMatchObject({ patientId: 'patient-secret-42', request: { hook: 'order-sign', n: 's1' } });
    expect(readdirSync(dir)).toEqual([]);
    expect(writer.state()).toEqual({ notWritten: 0, retrying: false, spoolBytes: 0 });
    expect(f.lines.join('\n')).not.toContain('patient-secret-42');
    await writer.close();
  });

  it('with a spool, records past the byte bound go to disk instead of being lost, and close() spools what the database does not take for the next start', async () => {
    const f = await fresh();
    const dir = spoolDir();
    const first = postgresAuditWriter(f.store, f.log, { retryDelaysMs: Array.from({ length: 100 }, () => 20), maxQueuedBytes: 160, spool: new AuditSpool(dir, 1 << 20, f.log), spoolDrainMs: 60_000 });
    await f.admin.query('ALTER TABLE hook_invocation RENAME TO hook_invocation_away');
    for (let i = 1; i <= 6; i++) first.record(entry(`q${i}`));
    // The three over the bound are spooled at once; the three queued are spooled by close() (the database is away).
    await vi.waitFor(() => expect(f.lines.filter((l) => l.includes('audit records kept in the spool'))).toHaveLength(1));
    await first.close();
    expect(f.notWritten()).toEqual([]);
    await f.admin.query('ALTER TABLE hook_invocation_away RENAME TO hook_invocation');
    // The next start (a new writer on the same spool) writes them with its first batch.
    const next = postgresAuditWriter(f.store, f.log, { spool: new AuditSpool(dir, 1 << 20, f.log), spoolDrainMs: 60_000 });
    next.record(entry('after'));
    await vi.waitFor(async () => expect((await f.written()).sort()).toEqual(['after', 'q1', 'q2', 'q3', 'q4', 'q5', 'q6']));
    expect(readdirSync(dir)).toEqual([]);
    await next.close();
  });

  it('writes a new call between two chunks of a spool it drains: a reader waits for the calls before it, not for the whole spool', async () => {
    const f = await fresh();
    const dir = spoolDir();
    // A thousand records left by an outage (five chunks of the drain).
    new AuditSpool(dir, 1 << 20, f.log).append(Array.from({ length: 1000 }, (_, i) => entry(`old${String(i)}`)));
    const { store, batches } = counted(f.store);
    // A call answered while the first chunk is being written.
    const answered: { writer?: ReturnType<typeof postgresAuditWriter> } = {};
    const during = { ...store, recordAll: (entries: readonly InvocationRecord[]) => (entries.length === 200 && batches.length === 1 ? answered.writer?.record(entry('during')) : undefined, store.recordAll(entries)) };
    const writer = postgresAuditWriter(during, f.log, { spool: new AuditSpool(dir, 1 << 20, f.log), spoolDrainMs: 60_000 });
    answered.writer = writer;
    writer.record(entry('first'));
    // Counted once committed (a batch is counted when it starts).
    const count = async (): Promise<string | undefined> => (await f.admin.query<{ n: string }>('SELECT count(DISTINCT request_id) AS n FROM hook_invocation')).rows[0]?.n;
    await vi.waitFor(async () => expect(await count()).toBe('1002'));
    expect(batches).toEqual([1, 200, 1, 200, 200, 200, 200]);
    await vi.waitFor(() => expect(readdirSync(dir)).toEqual([]));
    await writer.close();
  });

  it('on close, tries a failing batch once more instead of waiting out its retries', async () => {
    const f = await fresh();
    const writer = postgresAuditWriter(f.store, f.log, { retryDelaysMs: [60_000] });
    await f.admin.query('ALTER TABLE hook_invocation RENAME TO hook_invocation_away');
    writer.record(entry('closing'));
    await vi.waitFor(() => expect(f.lines.some((l) => failedWrite(l))).toBe(true));
    // A reader arriving during the minute's wait is not held for it.
    await writer.idle();
    await f.admin.query('ALTER TABLE hook_invocation_away RENAME TO hook_invocation');
    const started = Date.now();
    await writer.close();
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(await f.written()).toEqual(['closing']);
  });

  it('stores a NUL character in an identifier as U+FFFD, and finds it by what the client sent', async () => {
    const f = await fresh();
    const writer = postgresAuditWriter(f.store, f.log);
    writer.record(entry('nul', { patientId: 'p\u0000x', hookInstance: 'h\u0000' }));
    await writer.idle();
    expect(f.notWritten()).toEqual([]);
    expect(await f.store.search({ patientId: 'p\u0000x', limit: 5 })).toMatchObject([{ requestId: 'nul', patientId: 'p\ufffdx', hookInstance: 'h\ufffd' }]);
    await writer.close();
  });

  it('prunes a table larger than one delete statement takes', async () => {
    const f = await fresh();
    const old = Array.from({ length: 5200 }, (_, i) => entry(`old-${i}`, { receivedAt: new Date('2020-01-01T00:00:00Z'), request: undefined, response: undefined }));
    await f.store.recordAll([...old, entry('new', { receivedAt: new Date('2026-11-20T00:00:00Z') })]);
    expect(await f.store.prune(new Date('2026-01-01T00:00:00Z'))).toBe(5200);
    expect(await f.written()).toEqual(['new']);
  });
});
