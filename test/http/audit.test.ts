/**
 * The audit log over real HTTP, with the real SQLite file: every hook call that got past authentication is kept
 * with its answer (CRD "retain logs of all CRD-related hook invocations and their responses"), the FHIR access token
 * is not, and only configured readers can read it, each read itself recorded (CRD: access "restricted" and
 * "logged"). The readers file is made by the real `npm run audit:reader` script.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { StoredInvocation, StoredRead } from '../../src/store/audit-store.js';
import { addAuditReader, call, captureLog, fixtureRequest, startFakeFhir, startService, tempStorePath } from '../support/harness.js';
import type { Answer, RunningService } from '../support/harness.js';

const ORDER_SIGN = '/cds-services/intrathecal-order-sign';
const ACCESS_TOKEN = 'ehr-lent-access-token-5b1f0c';
const clock = () => new Date('2026-11-20T15:00:00Z');

const readersFile = join(mkdtempSync(join(tmpdir(), 'itcds-readers-')), 'readers.json');
let token: string;
let svc: RunningService;
let storePath: string;
const { lines, log } = captureLog();

/** GETs with the reader's token, another token, or (null) none. */
const read = (path: string, bearer: string | null = token): Promise<Answer> => call(svc, 'GET', path, undefined, bearer === null ? {} : { Authorization: `Bearer ${bearer}` });
const entries = (a: Answer) => a.body['entries'] as StoredInvocation[];
const sign = (body: unknown, requestId: string) => call(svc, 'POST', ORDER_SIGN, body, { 'X-Request-Id': requestId });

beforeAll(async () => {
  addAuditReader('someone-else', readersFile);
  token = addAuditReader('pa-lead', readersFile);
  storePath = tempStorePath();
  svc = await startService({ EMBEDDED_FHIR: 'false', AUDIT_READERS_FILE: readersFile, STORE_PATH: storePath }, { clock, log });
});
afterAll(() => svc.stop());

describe('recording hook calls', () => {
  it('keeps an order-sign call and its answer as sent, without the access token the EHR lent', async () => {
    const body = { ...fixtureRequest('seed-a.order-sign.json'), fhirAuthorization: { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'intrathecal-cds' } };
    const res = await sign(body, 'audit-first');
    expect(res.status).toBe(200);
    const found = await read('/audit/hook-invocations?requestId=audit-first');
    expect(found.status).toBe(200);
    const [entry] = entries(found);
    expect(entry).toMatchObject({
      requestId: 'audit-first', serviceId: 'intrathecal-order-sign', hook: 'order-sign', hookInstance: fixtureRequest('seed-a.order-sign.json')['hookInstance'],
      patientId: 'it-seed-a', client: 'unauthenticated', status: 200, delivered: true, receivedAt: '2026-11-20T15:00:00.000Z',
    });
    expect(entry?.packs).toMatch(/^intrathecal@\d+\.\d+\.\d+$/);
    expect(entry?.response).toEqual(res.body);
    expect((entry?.request as { fhirAuthorization: unknown }).fhirAuthorization).toEqual({ ...body.fhirAuthorization, access_token: '[removed]' });
    expect({ ...(entry?.request as object), fhirAuthorization: body.fhirAuthorization }).toEqual(body);
    expect(JSON.stringify(found.body)).not.toContain(ACCESS_TOKEN);
  });

  it('keeps a refused call with the OperationOutcome that names the refused field', async () => {
    const body = { ...fixtureRequest('seed-a.order-sign.json'), extension: { 'davinci-crd.configuration': { claim: 0 } } };
    expect((await sign(body, 'audit-bad-configuration')).status).toBe(400);
    const [entry] = entries(await read('/audit/hook-invocations?requestId=audit-bad-configuration'));
    expect(entry?.status).toBe(400);
    expect(JSON.stringify(entry?.response)).toContain('extension.davinci-crd.configuration.claim');
    expect(entry?.request).toEqual(body);
  });

  it('keeps a call whose body is not JSON, without a body, with the answer saying why', async () => {
    expect((await sign('{"hook": "order-sign", ', 'audit-not-json')).status).toBe(400);
    const [entry] = entries(await read('/audit/hook-invocations?requestId=audit-not-json'));
    expect(entry).toMatchObject({ status: 400, request: null, hook: null, patientId: null });
    expect(JSON.stringify(entry?.response)).toContain('not valid JSON');
  });

  it('keeps a call the client gave up on before the answer, with no status and no answer', async () => {
    // A FHIR server that never answers holds the call in data assembly; the client leaves after 200 ms.
    const hanging = await startFakeFhir(() => undefined);
    try {
      const body = { ...fixtureRequest('seed-a.order-sign.no-prefetch.json'), fhirServer: hanging.url };
      const aborted = await fetch(`${svc.baseUrl}${ORDER_SIGN}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Request-Id': 'audit-gave-up' }, body: JSON.stringify(body), signal: AbortSignal.timeout(200) }).catch((err: unknown) => err);
      expect(aborted).toBeInstanceOf(Error);
      const [entry] = entries(await read('/audit/hook-invocations?requestId=audit-gave-up'));
      expect(entry).toMatchObject({ status: null, delivered: false, response: null, request: body });
    } finally {
      await hanging.stop();
    }
  });

  it('does not record discovery or feedback, which are not hook invocations', async () => {
    const before = entries(await read('/audit/hook-invocations?_count=200')).length;
    expect((await call(svc, 'GET', '/cds-services')).status).toBe(200);
    const feedback = { feedback: [{ card: '9c741115-6a3c-47e1-a658-952b8c070092', outcome: 'overridden', outcomeTimestamp: '2026-11-20T15:00:00Z' }] };
    const stored = await call(svc, 'POST', `${ORDER_SIGN}/feedback`, feedback);
    expect(stored.status, stored.text).toBe(200);
    expect(entries(await read('/audit/hook-invocations?_count=200'))).toHaveLength(before);
  });

  it('writes a file of its own beside STORE_PATH, readable by its owner only', () => {
    const file = join(dirname(storePath), 'intrathecal-cds-audit.sqlite');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // Asked of SQLite, not of the file's bytes: a new table may still be in the -wal file beside it.
    const tables = (path: string) => {
      const db = new DatabaseSync(path);
      const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
      db.close();
      return names;
    };
    expect(tables(file)).toContain('hook_invocation');
    expect(tables(storePath)).not.toContain('hook_invocation');
    expect(tables(storePath)).toContain('feedback');
  });
});

describe('reading the audit log', () => {
  it('refuses a caller without a reader token, and records the attempt', async () => {
    for (const bearer of [null, 'guessed-token', `${token}x`]) {
      const res = await read('/audit/hook-invocations?patient=it-seed-a', bearer);
      expect(res.status).toBe(401);
      expect(res.text).not.toContain('it-seed-a');
    }
    const reads = (await read('/audit/reads?_count=3')).body['entries'] as StoredRead[];
    expect(reads.map((r) => [r.reader, r.outcome, r.rows])).toEqual([[null, 'refused', 0], [null, 'refused', 0], [null, 'refused', 0]]);
  });

  it('filters by patient and pages newest first with the next link', async () => {
    for (const id of ['page-1', 'page-2', 'page-3']) expect((await sign(fixtureRequest('seed-b.order-sign.json'), id)).status).toBe(200);
    const first = await read('/audit/hook-invocations?patient=it-seed-b&_count=2');
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(entries(first).map((e) => e.requestId)).toEqual(['page-3', 'page-2']);
    const next = first.body['next'] as string;
    expect(next).toMatch(/^\/audit\/hook-invocations\?patient=it-seed-b&_count=2&before=\d+-\d+$/);
    const second = await read(next);
    expect(entries(second).map((e) => e.requestId)).toEqual(['page-1']);
    expect(second.body['next']).toBeUndefined();
  });

  it("gives each call the feedback clinicians sent on its cards, and none to a call without", async () => {
    const answered = await sign(fixtureRequest('seed-a.order-sign.json'), 'with-feedback');
    const [first, second] = answered.body['cards'] as { uuid: string }[];
    const override = { card: first?.uuid, outcome: 'overridden', overrideReason: { reason: { system: 'https://example.org/override', code: 'handled', display: 'Handled by the PA team' }, userComment: 'peer-to-peer booked' }, outcomeTimestamp: '2026-11-20T15:05:00Z' };
    expect((await call(svc, 'POST', `${ORDER_SIGN}/feedback`, { feedback: [override] })).status).toBe(200);
    expect((await sign(fixtureRequest('seed-a.order-sign.json'), 'without-feedback')).status).toBe(200);
    const [without, withIt] = entries(await read('/audit/hook-invocations?patient=it-seed-a&_count=2')) as (StoredInvocation & { feedback?: unknown[] })[];
    expect(withIt?.requestId).toBe('with-feedback');
    expect(withIt?.feedback).toEqual([{ serviceId: 'intrathecal-order-sign', ...override, receivedAt: '2026-11-20T15:00:00.000Z' }]);
    expect(JSON.stringify(withIt?.feedback)).not.toContain(String(second?.uuid));
    expect(without?.requestId).toBe('without-feedback');
    expect(without).not.toHaveProperty('feedback');
  });

  it('records every allowed read with the reader, the query and the rows returned', async () => {
    await read('/audit/hook-invocations?hookInstance=no-such-instance');
    await read('/audit/hook-invocations?requestId=audit-first');
    const reads = (await read('/audit/reads?reader=pa-lead&_count=2')).body['entries'] as StoredRead[];
    expect(reads.map((r) => [r.reader, r.outcome, r.query, r.rows])).toEqual([
      ['pa-lead', 'allowed', '/audit/hook-invocations?requestId=audit-first', 1],
      ['pa-lead', 'allowed', '/audit/hook-invocations?hookInstance=no-such-instance', 0],
    ]);
  });

  it.each([
    ['?patientId=it-seed-a', 'patientId', 'Unknown parameter patientId'],
    ['?since=yesterday', 'since', 'since must be a date'],
    ['?until=2026-11-20T10:00', 'until', 'until must be a date'],
    ['?_count=0', '_count', '_count must be a whole number from 1 to 200'],
    ['?before=-3', 'before', 'before must be the cursor a next link carries'],
    ['?before=42', 'before', 'before must be the cursor a next link carries'],
    ['?patient=a&patient=b', 'patient', 'patient must be given once'],
  ])('refuses %s with a 400 naming the parameter, and records it', async (query, expression, message) => {
    const res = await read(`/audit/hook-invocations${query}`);
    expect(res.status).toBe(400);
    const issue = (res.body['issue'] as { expression?: string[]; details: { text: string } }[])[0];
    expect(issue?.expression).toEqual([expression]);
    expect(issue?.details.text).toContain(message);
    // A read is recorded once answered, so the newest read listed is the refused one.
    const [last] = (await read('/audit/reads?reader=pa-lead&_count=1')).body['entries'] as StoredRead[];
    expect(last).toMatchObject({ outcome: 'invalid', query: `/audit/hook-invocations${query}`, rows: 0 });
  });

  it('accepts dates and date-times with their zone', async () => {
    const res = await read('/audit/hook-invocations?since=2026-11-20&until=2026-11-20T15:00:00.001%2B00:00&requestId=audit-first');
    expect(entries(res).map((e) => e.requestId)).toEqual(['audit-first']);
    expect(entries(await read('/audit/hook-invocations?until=2026-11-20T15:00:00Z&requestId=audit-first'))).toEqual([]);
  });

  it('answers other methods with 405', async () => {
    expect((await call(svc, 'DELETE', '/audit/hook-invocations', undefined, { Authorization: `Bearer ${token}` })).status).toBe(405);
  });

  it('logs who read and which parameters, never their values, the token or the patient', () => {
    const reads = lines.filter((l) => l.includes('"audit log read"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(reads.some((r) => r['reader'] === 'pa-lead' && JSON.stringify(r['params']) === '["patient","_count"]')).toBe(true);
    expect(reads.some((r) => r['reader'] === undefined && r['outcome'] === 'refused')).toBe(true);
    const all = lines.join('\n');
    for (const secret of [token, ACCESS_TOKEN, 'it-seed-a', 'it-seed-b']) expect(all).not.toContain(secret);
  });
});

describe('when the audit log cannot be written or read', () => {
  it('answers 404 to every reader when no AUDIT_READERS_FILE is configured', async () => {
    const other = await startService({ EMBEDDED_FHIR: 'false' }, { clock });
    try {
      const res = await call(other, 'GET', '/audit/hook-invocations', undefined, { Authorization: `Bearer ${token}` });
      expect(res.status).toBe(404);
      expect(res.text).toContain('AUDIT_READERS_FILE is not configured');
    } finally {
      await other.stop();
    }
  });

  it('still answers the hook when the record cannot be written, and keeps the record in the spool', async () => {
    const captured = captureLog();
    const path = tempStorePath();
    const broken = await startService({ EMBEDDED_FHIR: 'false', STORE_PATH: path }, { clock, log: captured.log });
    try {
      expect((await call(broken, 'POST', ORDER_SIGN, fixtureRequest('seed-a.order-sign.json'))).status).toBe(200);
      await vi.waitFor(async () => expect(await broken.built.parts.audit.search({ limit: 1 })).toHaveLength(1));
      // A real fault in the real file: another connection drops the table the service writes to.
      const db = new DatabaseSync(join(dirname(path), 'intrathecal-cds-audit.sqlite'));
      db.exec('DROP TABLE hook_invocation');
      db.close();
      const res = await call(broken, 'POST', ORDER_SIGN, fixtureRequest('seed-a.order-sign.json'), { 'X-Request-Id': 'audit-broken' });
      expect(res.status).toBe(200);
      expect((res.body['cards'] as unknown[]).length).toBeGreaterThan(0);
      // The record is handed over when the connection closes, which may come just after the client has the answer.
      const kept = await vi.waitFor(() => {
        const line = captured.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l['msg']).startsWith('audit records kept in the spool'));
        if (!line) throw new Error(`not logged yet: ${captured.lines.join('')}`);
        return line;
      });
      expect(kept).toMatchObject({ level: 40, requestIds: ['audit-broken'] });
      expect(JSON.stringify(kept)).toContain('no such table');
      // Waiting on this machine's disk, not lost: /healthz says so.
      const health = (await call(broken, 'GET', '/healthz')).body['audit'] as { notWritten: number; spoolBytes: number };
      expect(health.notWritten).toBe(0);
      expect(health.spoolBytes).toBeGreaterThan(0);
    } finally {
      await broken.stop();
    }
  });
});

describe('while another connection holds the audit file', () => {
  it('answers a reader 503 with Retry-After within a moment, and goes on answering and recording hook calls', async () => {
    // A real lock, as a VACUUM or another process's indexing holds it: the read's own record cannot be written.
    const locker = new DatabaseSync(join(dirname(storePath), 'intrathecal-cds-audit.sqlite'));
    // The writer may still be committing the earlier tests' records: the locker waits its turn.
    locker.exec('PRAGMA busy_timeout = 5000');
    locker.exec('BEGIN IMMEDIATE');
    let released = false;
    try {
      const started = performance.now();
      const refused = await read('/audit/hook-invocations');
      // The event loop is held for the store's short busy timeout (250 ms), not the usual 5 s.
      expect(performance.now() - started).toBeLessThan(2500);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(refused.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'transient' }] });
      expect(refused.text).not.toMatch(/SQLITE|at \w+ \(/);
      expect((await sign(fixtureRequest('seed-a.order-sign.json'), 'while-locked')).status).toBe(200);
      locker.exec('COMMIT');
      released = true;
      // The call's record waited in the writer, and is there once the file is free.
      await vi.waitFor(async () => expect(entries(await read('/audit/hook-invocations?requestId=while-locked')).map((e) => e.requestId)).toEqual(['while-locked']));
    } finally {
      if (!released) locker.exec('COMMIT');
      locker.close();
    }
  });
});

describe('a change to the readers file', () => {
  it('applies at the next read without a restart; a file it cannot use lets nobody in until fixed', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'itcds-readers-')), 'readers.json');
    const lead = addAuditReader('pa-lead', file);
    const captured = captureLog();
    const running = await startService({ EMBEDDED_FHIR: 'false', AUDIT_READERS_FILE: file, STORE_PATH: tempStorePath(), LOG_LEVEL: 'info' }, { clock, log: captured.log });
    const get = (bearer: string) => call(running, 'GET', '/audit/reads?_count=1', undefined, { Authorization: `Bearer ${bearer}` });
    try {
      // A reader added while the service runs reads at once.
      const analyst = addAuditReader('rcm-analyst', file);
      expect((await get(analyst)).status).toBe(200);
      // Removed by editing the file (the script only adds): their token stops working at the next read.
      const kept = (JSON.parse(readFileSync(file, 'utf8')) as { name: string }[]).filter((r) => r.name !== 'rcm-analyst');
      writeFileSync(file, JSON.stringify(kept));
      expect((await get(analyst)).status).toBe(401);
      expect((await get(lead)).status).toBe(200);
      // A file broken by hand admits nobody, not the readers of the last good version.
      writeFileSync(file, '[{"name": "pa-lead", ');
      expect((await get(lead)).status).toBe(401);
      const broken = captured.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l['msg']).includes('cannot be used'));
      expect(broken).toHaveLength(1);
      writeFileSync(file, JSON.stringify(kept));
      expect((await get(lead)).status).toBe(200);
      expect(captured.lines.join('\n')).not.toContain(lead);
    } finally {
      await running.stop();
    }
  });
});
