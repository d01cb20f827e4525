/**
 * Copying a machine's SQLite files into PostgreSQL: files written by the service's own SQLite stores, copied into a
 * database of its own on the run's real PostgreSQL server, and read back through the PostgreSQL stores.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLog } from '../../test/support/harness.js';
import { freshPostgresDatabase } from '../../test/support/postgres.js';
import { auditStore } from './audit-store.js';
import type { InvocationRecord } from './audit-store.js';
import { copyToPostgres } from './copy-to-postgres.js';
import { openDatabase, openPrivateDatabase } from './database.js';
import { feedbackStore, postgresFeedbackStore } from './feedback-store.js';
import { postgresAuditStore } from './postgres-audit-store.js';
import { openSharedDatabase } from './postgres.js';

const toClose: (() => unknown)[] = [];
afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close();
});

const WHO = { reader: 'npm run store:copy', address: 'host-1', query: 'store:copy audit.sqlite' };
const COPIED_AT = new Date('2026-11-24T08:00:00Z');
/** What a call read from the EHR, as the audit log keeps it. */
const FETCHED = { fhirServer: 'https://ehr.example/fhir', reads: [{ url: 'https://ehr.example/fhir/Patient/it-seed-a', ms: 3.1, status: 200, body: { resourceType: 'Patient', id: 'it-seed-a' } }] };

const invocation = (requestId: string, receivedAt: string, over: Partial<InvocationRecord> = {}): InvocationRecord => ({
  receivedAt: new Date(receivedAt), requestId, serviceId: 'intrathecal-order-sign', hook: 'order-sign', hookInstance: `h-${requestId}`,
  patientId: 'it-seed-a', client: 'https://ehr.example', status: 200, ms: 2.5, packs: 'intrathecal@1.30.1', delivered: true,
  request: JSON.stringify({ hook: 'order-sign', id: requestId }), response: `{"cards":[],"id":"${requestId}"}`, ...over,
});

/** A machine's two SQLite files, written through the service's stores. */
function machine() {
  const dir = mkdtempSync(join(tmpdir(), 'itcds-copy-'));
  const storeDb = openDatabase(join(dir, 'intrathecal-cds.sqlite'));
  const auditDb = openPrivateDatabase(join(dir, 'intrathecal-cds-audit.sqlite'), 'NORMAL').db;
  toClose.push(() => storeDb.close(), () => auditDb.close());
  return { storeDb, auditDb, feedback: feedbackStore(storeDb), audit: auditStore(auditDb) };
}

async function postgres() {
  const shared = openSharedDatabase(await freshPostgresDatabase(), captureLog().log);
  toClose.push(() => shared.close());
  await shared.ready;
  return { shared, audit: postgresAuditStore(shared), feedback: postgresFeedbackStore(shared) };
}

describe('copying SQLite files into PostgreSQL (npm run store:copy)', () => {
  it('copies feedback, hook invocations with their bodies, and reads of the log, and records the copy as a read', async () => {
    const m = machine();
    await m.feedback.save('intrathecal-order-sign', [
      { card: 'card-1', outcome: 'overridden', overrideReason: { reason: { code: 'patient-declined', system: 'http://example.org' }, userComment: 'pump \u0000 note' }, outcomeTimestamp: '2026-11-20T10:05:00Z' },
      { card: 'card-2', outcome: 'accepted', acceptedSuggestions: [{ id: 's-1' }], outcomeTimestamp: '2026-11-20T10:06:00Z' },
    ], new Date('2026-11-20T10:06:01.123Z'));
    await m.audit.record(invocation('r1', '2026-11-20T10:00:00.001Z', { fetched: JSON.stringify(FETCHED) }));
    await m.audit.record(invocation('r2', '2026-11-20T10:01:00Z', { request: new TextEncoder().encode('{"hook":"order-sign","raw":true}'), status: null, delivered: false, response: undefined }));
    await m.audit.recordRead({ at: new Date('2026-11-20T11:00:00Z'), reader: 'pa-lead', address: '10.0.0.5', outcome: 'allowed', query: '/audit/hook-invocations?patient=it-seed-a', rows: 2 });
    const pg = await postgres();

    const report = await copyToPostgres({ store: m.storeDb, audit: m.auditDb }, pg.shared, WHO, () => COPIED_AT);
    expect(report).toEqual({ feedback: { copied: 2, present: 0 }, hookInvocations: { copied: 2, present: 0 }, auditReads: { copied: 1, present: 0 } });

    // What the PostgreSQL stores read is what the SQLite stores read, but for ids and the NUL PostgreSQL cannot hold.
    const withoutIds = <T extends { id: number }>(rows: T[]): Omit<T, 'id'>[] => rows.map(({ id: _id, ...rest }) => rest);
    expect(withoutIds(await pg.audit.search({ limit: 10 }))).toEqual(withoutIds(await m.audit.search({ limit: 10 })));
    expect((await pg.audit.search({ requestId: 'r1', limit: 1 }))[0]?.fetched).toEqual(FETCHED);
    const [r2] = await pg.audit.search({ requestId: 'r2', limit: 1 });
    expect(r2).toMatchObject({ request: { hook: 'order-sign', raw: true }, response: null, status: null, delivered: false, receivedAt: '2026-11-20T10:01:00.000Z' });
    const copiedFeedback = await pg.feedback.list();
    expect(copiedFeedback).toEqual((await m.feedback.list()).map((f) => (f.card === 'card-1' ? { ...f, overrideReason: { ...f.overrideReason, userComment: 'pump \ufffd note' } } : f)));
    expect((await pg.audit.reads({ limit: 10 })).map((r) => [r.reader, r.address, r.query, r.rows, r.at])).toEqual([
      ['npm run store:copy', 'host-1', 'store:copy audit.sqlite', 3, COPIED_AT.toISOString()],
      ['pa-lead', '10.0.0.5', '/audit/hook-invocations?patient=it-seed-a', 2, '2026-11-20T11:00:00.000Z'],
    ]);
  });

  it('copies nothing twice: a second copy finds every row there, and two identical rows stay two', async () => {
    const m = machine();
    const read = { at: new Date('2026-11-20T11:00:00Z'), reader: 'pa-lead', address: '10.0.0.5', outcome: 'allowed' as const, query: '/audit/reads', rows: 0 };
    await m.audit.recordRead(read);
    await m.audit.recordRead(read);
    for (let i = 0; i < 3; i++) await m.audit.record(invocation(`r${String(i)}`, `2026-11-20T10:0${String(i)}:00Z`));
    const pg = await postgres();
    // One of the invocations, and one of the two identical reads, are in PostgreSQL already (a copy that stopped).
    await pg.audit.record(invocation('r1', '2026-11-20T10:01:00Z'));
    await pg.audit.recordRead(read);
    const first = await copyToPostgres({ audit: m.auditDb }, pg.shared, WHO, () => COPIED_AT);
    expect(first).toMatchObject({ hookInvocations: { copied: 2, present: 1 }, auditReads: { copied: 1, present: 1 } });
    const again = await copyToPostgres({ audit: m.auditDb }, pg.shared, WHO, () => COPIED_AT);
    expect(again).toEqual({ feedback: { copied: 0, present: 0 }, hookInvocations: { copied: 0, present: 3 }, auditReads: { copied: 0, present: 2 } });
    expect((await pg.audit.search({ limit: 10 })).map((r) => r.requestId)).toEqual(['r2', 'r1', 'r0']);
    expect((await pg.audit.reads({ reader: 'pa-lead', limit: 10 })).length).toBe(2);
  });

  it('puts copied calls where their time puts them among the calls already in PostgreSQL', async () => {
    const pg = await postgres();
    await pg.audit.record(invocation('pg-later', '2026-11-22T09:00:00Z'));
    await pg.audit.record(invocation('pg-earlier', '2026-11-19T09:00:00Z'));
    const m = machine();
    await m.audit.record(invocation('copied', '2026-11-20T09:00:00Z'));
    await copyToPostgres({ audit: m.auditDb }, pg.shared, WHO);
    expect((await pg.audit.search({ limit: 10 })).map((r) => r.requestId)).toEqual(['pg-later', 'copied', 'pg-earlier']);
  });

  it('copies more rows than a chunk holds, and a file without the audit tables adds nothing', async () => {
    const m = machine();
    for (let i = 0; i < 1203; i++) await m.audit.record(invocation(`bulk-${String(i)}`, new Date(Date.UTC(2026, 10, 20, 10, 0, 0, i)).toISOString(), { request: undefined, response: undefined }));
    const pg = await postgres();
    const report = await copyToPostgres({ audit: m.auditDb, store: m.storeDb }, pg.shared, WHO);
    expect(report.hookInvocations).toEqual({ copied: 1203, present: 0 });
    expect(report.feedback).toEqual({ copied: 0, present: 0 });
    expect((await pg.audit.search({ limit: 200 })).length).toBe(200);
    const [oldest] = await pg.audit.search({ until: new Date(Date.UTC(2026, 10, 20, 10, 0, 0, 1)), limit: 5 });
    expect(oldest?.requestId).toBe('bulk-0');
    // The store file has no audit tables: nothing to copy from it.
    expect(await copyToPostgres({ audit: m.storeDb }, pg.shared, WHO)).toMatchObject({ hookInvocations: { copied: 0, present: 0 }, auditReads: { copied: 0, present: 0 } });
  });
});
