/**
 * An audit log written before session 37 (no column for what a call read from the EHR) is opened by this version:
 * in a SQLite file and in a database of its own on the run's real PostgreSQL server. Its rows stay readable, new
 * rows keep what was read, and an instance of the version before, still writing during a rolling upgrade, goes on
 * writing.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLog } from '../../test/support/harness.js';
import { freshPostgresDatabase } from '../../test/support/postgres.js';
import { auditStore, packBody } from './audit-store.js';
import type { InvocationRecord } from './audit-store.js';
import { copyToPostgres } from './copy-to-postgres.js';
import { openPrivateDatabase } from './database.js';
import { postgresAuditStore } from './postgres-audit-store.js';
import { openSharedDatabase } from './postgres.js';

const toClose: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close();
});

/** The table as the versions before session 37 made it (both databases; the types are each one's). */
const OLD_TABLE = (types: { id: string; time: string; real: string; bool: string; blob: string }): string => `CREATE TABLE hook_invocation (
  id ${types.id}, received_at ${types.time} NOT NULL, request_id TEXT NOT NULL, service_id TEXT NOT NULL, hook TEXT,
  hook_instance TEXT, patient_id TEXT, client TEXT NOT NULL, status INTEGER, ms ${types.real} NOT NULL, packs TEXT NOT NULL,
  delivered ${types.bool} NOT NULL, request ${types.blob}, response ${types.blob})`;
/** How the versions before session 37 inserted a row (the columns named, so a column added later stays null). */
const OLD_INSERT = (p: (n: number) => string): string => `INSERT INTO hook_invocation
  (received_at, request_id, service_id, hook, hook_instance, patient_id, client, status, ms, packs, delivered, request, response)
  VALUES (${Array.from({ length: 13 }, (_, i) => p(i + 1)).join(', ')})`;
const oldValues = (requestId: string, at: string, delivered: unknown): unknown[] =>
  [at, requestId, 'intrathecal-order-sign', 'order-sign', null, 'it-seed-a', 'https://ehr.example', 200, 1.5, 'intrathecal@1.33.0', delivered, packBody('{"hook":"order-sign"}'), packBody('{"cards":[]}')];

const FETCHED = { fhirServer: 'https://ehr.example/fhir', reads: [{ url: 'https://ehr.example/fhir/Patient/it-seed-a', ms: 4, status: 200, body: { resourceType: 'Patient', id: 'it-seed-a' } }] };
const now: InvocationRecord = {
  receivedAt: new Date('2026-11-24T10:00:00Z'), requestId: 'new', serviceId: 'intrathecal-order-sign', client: 'https://ehr.example', status: 200,
  ms: 2, packs: 'intrathecal@1.34.0', delivered: true, request: '{"hook":"order-sign"}', response: '{"cards":[]}', fetched: JSON.stringify(FETCHED),
};

describe('an audit log from before session 37, opened by this version', () => {
  it('SQLite: old rows read with nothing fetched, new rows keep what was read, and the old version\'s inserts go on', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'itcds-upgrade-')), 'audit.sqlite');
    const old = openPrivateDatabase(path, 'NORMAL').db;
    toClose.push(() => old.close());
    old.exec(OLD_TABLE({ id: 'INTEGER PRIMARY KEY AUTOINCREMENT', time: 'TEXT', real: 'REAL', bool: 'INTEGER', blob: 'BLOB' }));
    const oldInsert = old.prepare(OLD_INSERT(() => '?'));
    oldInsert.run(...(oldValues('before', '2026-11-23T10:00:00.000Z', 1) as never[]));

    const db = openPrivateDatabase(path, 'NORMAL').db;
    toClose.push(() => db.close());
    const store = auditStore(db);
    // Another connection opening it next (a second process) finds the column there and adds nothing.
    const again = openPrivateDatabase(path, 'NORMAL').db;
    toClose.push(() => again.close());
    auditStore(again);
    await store.record(now);
    // The old version's statement, prepared before the column was added, still inserts.
    oldInsert.run(...(oldValues('old-writer', '2026-11-24T11:00:00.000Z', 1) as never[]));

    const rows = await store.search({ limit: 10 });
    expect(rows.map((r) => [r.requestId, r.fetched])).toEqual([['old-writer', null], ['new', FETCHED], ['before', null]]);
    expect(rows[2]).toMatchObject({ request: { hook: 'order-sign' }, response: { cards: [] } });

    // A file of the version before is copied into PostgreSQL as it is, nothing fetched.
    const target = openSharedDatabase(await freshPostgresDatabase(), captureLog().log);
    toClose.push(() => target.close());
    await target.ready;
    const fresh = openPrivateDatabase(join(mkdtempSync(join(tmpdir(), 'itcds-upgrade-')), 'old.sqlite'), 'NORMAL').db;
    toClose.push(() => fresh.close());
    fresh.exec(OLD_TABLE({ id: 'INTEGER PRIMARY KEY AUTOINCREMENT', time: 'TEXT', real: 'REAL', bool: 'INTEGER', blob: 'BLOB' }));
    fresh.prepare(OLD_INSERT(() => '?')).run(...(oldValues('copied', '2026-11-23T10:00:00.000Z', 1) as never[]));
    expect((await copyToPostgres({ audit: fresh }, target, { reader: 'test', address: 'here', query: 'copy' })).hookInvocations).toEqual({ copied: 1, present: 0 });
    expect((await postgresAuditStore(target).search({ limit: 1 }))[0]).toMatchObject({ requestId: 'copied', fetched: null, response: { cards: [] } });
  });

  it('PostgreSQL: the column is added when the service opens the database; old rows and old inserts go on', async () => {
    const url = await freshPostgresDatabase();
    const old = new pg.Client({ connectionString: url });
    await old.connect();
    toClose.push(() => old.end());
    await old.query(OLD_TABLE({ id: 'BIGSERIAL PRIMARY KEY', time: 'TIMESTAMPTZ', real: 'DOUBLE PRECISION', bool: 'BOOLEAN', blob: 'BYTEA' }));
    await old.query(OLD_INSERT((n) => `$${String(n)}`), oldValues('before', '2026-11-23T10:00:00.000Z', true));

    const shared = openSharedDatabase(url, captureLog().log);
    toClose.push(() => shared.close());
    await shared.ready;
    const store = postgresAuditStore(shared);
    await store.record(now);
    await old.query(OLD_INSERT((n) => `$${String(n)}`), oldValues('old-writer', '2026-11-24T11:00:00.000Z', true));
    // A second instance starting finds the column there.
    const second = openSharedDatabase(url, captureLog().log);
    toClose.push(() => second.close());
    await second.ready;

    const rows = await postgresAuditStore(second).search({ limit: 10 });
    expect(rows.map((r) => [r.requestId, r.fetched])).toEqual([['old-writer', null], ['new', FETCHED], ['before', null]]);
  });
});
