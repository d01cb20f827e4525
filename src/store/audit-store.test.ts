import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLog } from '../../test/support/harness.js';
import { freshPostgresDatabase } from '../../test/support/postgres.js';
import { turnsDuring } from '../../test/support/turns.js';
import { auditStore, BODIES, INSERT_INVOCATION, invocationValues, packBody } from './audit-store.js';
import type { AuditStore, InvocationRecord } from './audit-store.js';
import { openPrivateDatabase } from './database.js';
import { postgresAuditStore } from './postgres-audit-store.js';
import { openSharedDatabase } from './postgres.js';

const opened: { close(): void }[] = [];
const pools: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) db.close();
  await Promise.all(pools.splice(0).map((close) => close()));
});

function freshStore(path = join(mkdtempSync(join(tmpdir(), 'itcds-audit-')), 'audit.sqlite')) {
  const { db } = openPrivateDatabase(path, 'NORMAL');
  opened.push(db);
  return { store: auditStore(db), path, db };
}

/** The two backends, on real servers: a SQLite file, and a database of its own on the run's PostgreSQL. */
const backends: [string, () => Promise<AuditStore>][] = [
  ['SQLite', () => Promise.resolve(freshStore().store)],
  ['PostgreSQL', async () => {
    const shared = openSharedDatabase(await freshPostgresDatabase(), captureLog().log);
    pools.push(() => shared.close());
    await shared.ready;
    return postgresAuditStore(shared);
  }],
];

function invocation(over: Partial<InvocationRecord>): InvocationRecord {
  return {
    receivedAt: new Date('2026-11-20T10:00:00Z'),
    requestId: 'r1',
    serviceId: 'intrathecal-order-sign',
    hook: 'order-sign',
    hookInstance: 'h1',
    patientId: 'p1',
    client: 'https://ehr.example',
    status: 200,
    ms: 1.25,
    packs: 'intrathecal@1.28.4',
    delivered: true,
    request: JSON.stringify({ hook: 'order-sign', context: { patientId: 'p1' } }),
    response: '{"cards":[]}',
    ...over,
  };
}

describe.each(backends)('audit store in %s', (_name, open) => {
  it('keeps what was asked and answered, and gives it back as JSON', async () => {
    const store = await open();
    await store.record(invocation({ response: '{"cards":[{"summary":"s"}]}' }));
    const [row] = await store.search({ limit: 10 });
    expect(row).toMatchObject({
      id: 1, receivedAt: '2026-11-20T10:00:00.000Z', requestId: 'r1', hook: 'order-sign', hookInstance: 'h1', patientId: 'p1',
      client: 'https://ehr.example', status: 200, ms: 1.25, packs: 'intrathecal@1.28.4', delivered: true,
      request: { hook: 'order-sign', context: { patientId: 'p1' } }, response: { cards: [{ summary: 's' }] },
    });
  });

  it('keeps what was read from the EHR for a call beside it, and null when nothing was', async () => {
    const store = await open();
    const fetched = { fhirServer: 'https://ehr.example/fhir', reads: [{ url: 'https://ehr.example/fhir/Patient/p1', ms: 2, status: 200, body: { resourceType: 'Patient', id: 'p1' } }] };
    await store.record(invocation({ fetched: JSON.stringify(fetched) }));
    await store.record(invocation({ requestId: 'r2' }));
    expect((await store.search({ requestId: 'r1', limit: 1 }))[0]?.fetched).toEqual(fetched);
    expect((await store.search({ requestId: 'r2', limit: 1 }))[0]?.fetched).toBeNull();
  });

  it('writes several calls in one transaction: all of them, or none when one is refused', async () => {
    const store = await open();
    await store.recordAll([invocation({ requestId: 'a' }), invocation({ requestId: 'b' })]);
    // A row the table refuses (no client: NOT NULL), the second of three: the first is not kept either.
    const refused = { ...invocation({ requestId: 'y' }), client: null } as unknown as InvocationRecord;
    await expect(store.recordAll([invocation({ requestId: 'x' }), refused, invocation({ requestId: 'z' })])).rejects.toThrow();
    expect((await store.search({ limit: 10 })).map((r) => r.requestId).sort()).toEqual(['a', 'b']);
    // And the store goes on writing afterwards (the failed transaction was rolled back, not left open).
    await store.record(invocation({ requestId: 'c' }));
    expect((await store.search({ limit: 10 })).map((r) => r.requestId).sort()).toEqual(['a', 'b', 'c']);
  });

  it('keeps request bytes as received, and gives them back parsed', async () => {
    const store = await open();
    await store.record(invocation({ request: Buffer.from('{ "hook" : "order-sign",\n  "context": {} }') }));
    expect((await store.search({ limit: 1 }))[0]?.request).toEqual({ hook: 'order-sign', context: {} });
  });

  it('keeps a call the client left before any answer with no status and no response', async () => {
    const store = await open();
    const bare: Record<string, unknown> = { ...invocation({}) };
    delete bare['response'];
    await store.record({ ...(bare as unknown as InvocationRecord), status: null, delivered: false });
    expect((await store.search({ limit: 1 }))[0]).toMatchObject({ status: null, response: null, delivered: false });
  });

  it('stores an unread body and a missing answer as null, and a non-JSON answer as its text', async () => {
    const store = await open();
    const bare: Record<string, unknown> = { ...invocation({}) };
    delete bare['request'];
    delete bare['response'];
    await store.record({ ...(bare as unknown as InvocationRecord), status: 400, delivered: false });
    await store.record(invocation({ requestId: 'r2', response: 'not json' }));
    const [text, empty] = await store.search({ limit: 10 });
    expect(empty).toMatchObject({ request: null, response: null, delivered: false, status: 400 });
    expect(text?.response).toBe('not json');
  });

  it('filters by patient, hook instance, request, service and time, newest first, and pages on from a row', async () => {
    const store = await open();
    for (let i = 1; i <= 5; i++) {
      await store.record(invocation({ requestId: `r${i}`, patientId: i % 2 ? 'odd' : 'even', hookInstance: `h${i}`, receivedAt: new Date(Date.UTC(2026, 10, i)) }));
    }
    const ids = async (f: Parameters<typeof store.search>[0]) => (await store.search(f)).map((r) => r.requestId);
    expect(await ids({ limit: 10 })).toEqual(['r5', 'r4', 'r3', 'r2', 'r1']);
    expect(await ids({ patientId: 'odd', limit: 10 })).toEqual(['r5', 'r3', 'r1']);
    expect(await ids({ hookInstance: 'h2', limit: 10 })).toEqual(['r2']);
    expect(await ids({ requestId: 'r4', limit: 10 })).toEqual(['r4']);
    expect(await ids({ serviceId: 'other', limit: 10 })).toEqual([]);
    expect(await ids({ since: new Date('2026-11-02T00:00:00Z'), until: new Date('2026-11-04T00:00:00Z'), limit: 10 })).toEqual(['r3', 'r2']);
    const first = await store.search({ limit: 2 });
    const last = first.at(-1);
    expect(await ids({ before: { at: new Date(last?.receivedAt ?? 0), id: last?.id ?? 0 }, limit: 2 })).toEqual(['r3', 'r2']);
  });

  it('combines filters, and pages through one patient\'s calls in a time range', async () => {
    const store = await open();
    for (let i = 1; i <= 8; i++) {
      await store.record(invocation({ requestId: `r${i}`, patientId: i % 2 ? 'odd' : 'even', hookInstance: `h${i}`, receivedAt: new Date(Date.UTC(2026, 10, i)) }));
    }
    const ids = async (f: Parameters<typeof store.search>[0]) => (await store.search(f)).map((r) => r.requestId);
    const range = { patientId: 'odd', since: new Date('2026-11-02T00:00:00Z'), until: new Date('2026-11-08T00:00:00Z') };
    const first = await store.search({ ...range, limit: 2 });
    expect(first.map((r) => r.requestId)).toEqual(['r7', 'r5']);
    const last = first.at(-1);
    expect(await ids({ ...range, before: { at: new Date(last?.receivedAt ?? 0), id: last?.id ?? 0 }, limit: 2 })).toEqual(['r3']);
    expect(await ids({ patientId: 'odd', requestId: 'r4', limit: 10 })).toEqual([]);
    expect(await ids({ patientId: 'even', requestId: 'r4', hookInstance: 'h4', serviceId: 'intrathecal-order-sign', limit: 10 })).toEqual(['r4']);
  });

  it('orders by when a call was received, then by id, so a row written late stands where its time puts it', async () => {
    const store = await open();
    const noon = new Date('2026-11-20T12:00:00Z');
    // Written in this order: another instance's writer, or rows copied from a SQLite file, come after newer ones.
    await store.record(invocation({ requestId: 'at-noon-1', receivedAt: noon }));
    await store.record(invocation({ requestId: 'at-one', receivedAt: new Date('2026-11-20T13:00:00Z') }));
    await store.record(invocation({ requestId: 'copied-at-nine', receivedAt: new Date('2026-11-20T09:00:00Z') }));
    await store.record(invocation({ requestId: 'at-noon-2', receivedAt: noon }));
    const all = await store.search({ limit: 10 });
    expect(all.map((r) => r.requestId)).toEqual(['at-one', 'at-noon-2', 'at-noon-1', 'copied-at-nine']);
    // Paging between two rows of the same time: the cursor's id decides.
    const [, second] = all;
    const after = await store.search({ before: { at: new Date(second?.receivedAt ?? 0), id: second?.id ?? 0 }, limit: 10 });
    expect(after.map((r) => r.requestId)).toEqual(['at-noon-1', 'copied-at-nine']);
    await store.recordRead({ at: new Date('2026-11-20T10:00:00Z'), reader: 'late', address: 'a', outcome: 'allowed', query: 'q', rows: 0 });
    await store.recordRead({ at: new Date('2026-11-20T08:00:00Z'), reader: 'copied', address: 'a', outcome: 'allowed', query: 'q', rows: 0 });
    await store.recordRead({ at: new Date('2026-11-20T09:00:00Z'), reader: 'between', address: 'a', outcome: 'allowed', query: 'q', rows: 0 });
    const reads = await store.reads({ limit: 10 });
    expect(reads.map((r) => r.reader)).toEqual(['late', 'between', 'copied']);
    const [, middle] = reads;
    expect((await store.reads({ before: { at: new Date(middle?.at ?? 0), id: middle?.id ?? 0 }, limit: 10 })).map((r) => r.reader)).toEqual(['copied']);
    // A time range: at or after since, before until.
    expect((await store.reads({ since: new Date('2026-11-20T09:00:00Z'), until: new Date('2026-11-20T10:00:00Z'), limit: 10 })).map((r) => r.reader)).toEqual(['between']);
  });

  it('records reads of the log and lists them newest first', async () => {
    const store = await open();
    await store.recordRead({ at: new Date('2026-11-20T10:00:00Z'), reader: 'pa-lead', address: '127.0.0.1', outcome: 'allowed', query: '/audit/hook-invocations?patient=p1', rows: 3 });
    await store.recordRead({ at: new Date('2026-11-20T11:00:00Z'), address: '10.0.0.9', outcome: 'refused', query: '/audit/hook-invocations', rows: 0 });
    expect((await store.reads({ limit: 10 })).map((r) => [r.reader, r.outcome, r.rows])).toEqual([[null, 'refused', 0], ['pa-lead', 'allowed', 3]]);
    expect(await store.reads({ reader: 'pa-lead', limit: 10 })).toHaveLength(1);
  });

  it('prunes invocations and reads recorded before a time, and nothing after it', async () => {
    const store = await open();
    await store.record(invocation({ requestId: 'old', receivedAt: new Date('2020-01-01T00:00:00Z') }));
    await store.record(invocation({ requestId: 'new', receivedAt: new Date('2026-11-20T00:00:00Z') }));
    await store.recordRead({ at: new Date('2020-01-02T00:00:00Z'), reader: 'x', address: 'a', outcome: 'allowed', query: 'q', rows: 1 });
    expect(await store.prune(new Date('2026-01-01T00:00:00Z'))).toBe(2);
    expect((await store.search({ limit: 10 })).map((r) => r.requestId)).toEqual(['new']);
    expect(await store.reads({ limit: 10 })).toEqual([]);
  });

  it('prunes more rows than one statement deletes, in both tables, and counts them all', async () => {
    const store = await open();
    for (let i = 0; i < 120; i++) await store.record(invocation({ requestId: `old-${String(i)}`, receivedAt: new Date(Date.UTC(2020, 0, 1, 0, i)) }));
    for (let i = 0; i < 60; i++) await store.recordRead({ at: new Date(Date.UTC(2020, 0, 2, 0, i)), reader: 'x', address: 'a', outcome: 'allowed', query: 'q', rows: 1 });
    await store.record(invocation({ requestId: 'new', receivedAt: new Date('2026-11-20T00:00:00Z') }));
    expect(await store.prune(new Date('2026-01-01T00:00:00Z'))).toBe(180);
    expect((await store.search({ limit: 500 })).map((r) => r.requestId)).toEqual(['new']);
    expect(await store.reads({ limit: 500 })).toEqual([]);
  });

});

describe('audit store in SQLite', () => {
  it('prunes in small statements over several turns of the event loop, so hook calls are answered meanwhile', async () => {
    const { store, db } = freshStore();
    const bodies = [packBody(readFileSync('fhir-fixtures/requests/seed-a.order-sign.json')), packBody('{"cards":[]}')];
    const insert = db.prepare(INSERT_INVOCATION);
    db.exec('BEGIN');
    for (let i = 0; i < 5000; i++) insert.run(...invocationValues(invocation({ requestId: `old-${String(i)}`, receivedAt: new Date(Date.UTC(2020, 0, 1, 0, i)) })).slice(0, BODIES), ...bodies);
    db.exec('COMMIT');
    const { result, turns } = await turnsDuring(() => store.prune(new Date('2026-01-01T00:00:00Z')));
    expect(result).toBe(5000);
    // 100 statements of 50 seed-sized rows, tens of ms here, so many turns of 2 ms; one statement would hold the
    // loop throughout (no turn at all).
    expect(turns).toBeGreaterThanOrEqual(2);
  });

  it('unpacks a page of 200 seed-sized calls over several turns of the event loop, so hook calls are answered meanwhile', async () => {
    const { store } = freshStore();
    const request = readFileSync('fhir-fixtures/requests/seed-a.order-sign.json', 'utf8');
    for (let i = 0; i < 200; i++) await store.record(invocation({ requestId: `r${String(i)}`, request }));
    const { result, turns } = await turnsDuring(() => store.search({ limit: 200 }));
    expect(result).toHaveLength(200);
    expect(result[0]?.request).toEqual(JSON.parse(request));
    // Decompressing and parsing 400 bodies: tens of milliseconds here, so many turns of 2 ms; at once, none.
    // (Only SQLite's is counted: PostgreSQL's rows arrive over a socket in many turns anyway, so a count cannot tell
    // whether its unpacking, the same mapInTurns, yields too.)
    expect(turns).toBeGreaterThanOrEqual(2);
  });

  it('is in the file: a second connection reads what the first wrote', async () => {
    const { store, path } = freshStore();
    await store.record(invocation({}));
    expect(await freshStore(path).store.search({ limit: 10 })).toHaveLength(1);
  });

  it('creates its file, and the WAL file SQLite makes beside it, readable by the owner only', async () => {
    const { store, path } = freshStore();
    await store.record(invocation({}));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
  });

  it('reports an existing file open to others, and leaves its mode as the operator set it', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'itcds-audit-')), 'audit.sqlite');
    writeFileSync(path, '');
    chmodSync(path, 0o640);
    const { db, openToOthers } = openPrivateDatabase(path, 'NORMAL');
    opened.push(db);
    expect(openToOthers).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });
});
