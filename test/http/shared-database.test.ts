/**
 * Two instances of the service behind one public URL, each with its own SQLite files (as on two machines) and one
 * DATABASE_URL on the run's real PostgreSQL server: a JWT one instance accepted is refused by the other, feedback
 * sent to one is kept where both read it, a call either answered is in the one audit log both read, and a database
 * that goes away answers 503, never a 500 or a 401. One instance reaches the database over TLS, verifying the server's
 * certificate against the run's CA. A database that cannot be reached at start, or whose certificate is not trusted,
 * stops the service before it listens, without printing the password.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAuditReader, call, fixtureRequest, freePort, startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';
import { makeKey, signToken } from '../support/jwt.js';
import type { TestKey } from '../support/jwt.js';
import { dropPostgresDatabase, freshPostgresDatabase, postgresCa } from '../support/postgres.js';

const BASE = 'https://cds.test.example';
const ORDER_SIGN = '/cds-services/intrathecal-order-sign';
const FEEDBACK = `${ORDER_SIGN}/feedback`;
const ISS = 'https://ehr-a.example';

let key: TestKey;
let url: string;
let readerToken: string;
let a: RunningService;
let b: RunningService;

beforeAll(async () => {
  key = await makeKey('ES384');
  const clientsFile = join(mkdtempSync(join(tmpdir(), 'itcds-clients-')), 'clients.json');
  writeFileSync(clientsFile, JSON.stringify([{ iss: ISS, jwks: { keys: [key.publicJwk] }, fhirServers: [] }]));
  const readersFile = join(mkdtempSync(join(tmpdir(), 'itcds-readers-')), 'readers.json');
  readerToken = addAuditReader('pa-lead', readersFile);
  url = await freshPostgresDatabase();
  // STORE_PATH differs (the harness gives each its own file): only the database is shared. B reaches it over TLS.
  const env = { NODE_ENV: 'development', PUBLIC_BASE_URL: BASE, CDS_CLIENTS_FILE: clientsFile, ALLOW_UNAUTHENTICATED: 'false', TRUST_SANDBOX: 'false', EMBEDDED_FHIR: 'false', LOG_LEVEL: 'silent', AUDIT_READERS_FILE: readersFile };
  const tls = `sslmode=verify-full&sslrootcert=${encodeURIComponent(postgresCa())}`;
  [a, b] = await Promise.all([startService({ ...env, DATABASE_URL: `${url}?application_name=instance-a` }), startService({ ...env, DATABASE_URL: `${url}?${tls}&application_name=instance-b` })]);
});
afterAll(async () => {
  await Promise.all([a.stop(), b.stop()]);
});

const seed = () => {
  const body = fixtureRequest('seed-a.order-sign.json');
  delete body['fhirServer'];
  return body;
};
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const feedbackBody = { feedback: [{ card: 'a6f0e3a2-3d44-4f0e-9a53-6c1f1f1f1f1f', outcome: 'overridden', overrideReason: { userComment: 'peer-to-peer scheduled' }, outcomeTimestamp: '2026-11-20T15:06:00Z' }] };

describe('instances sharing DATABASE_URL', () => {
  it('refuse on one instance a JWT the other accepted', async () => {
    const token = await signToken(key, { iss: ISS, aud: `${BASE}${ORDER_SIGN}` });
    expect((await call(a, 'POST', ORDER_SIGN, seed(), bearer(token))).status).toBe(200);
    const replayed = await call(b, 'POST', ORDER_SIGN, seed(), bearer(token));
    expect(replayed.status).toBe(401);
    expect((await call(b, 'POST', ORDER_SIGN, seed(), bearer(await signToken(key, { iss: ISS, aud: `${BASE}${ORDER_SIGN}` })))).status).toBe(200);
  });

  it('reach it over TLS when DATABASE_URL asks for it, and in the clear when it does not', async () => {
    expect((await call(b, 'GET', '/audit/hook-invocations', undefined, bearer(readerToken))).status).toBe(200);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const found = await admin.query<{ name: string; ssl: boolean }>("SELECT DISTINCT a.application_name AS name, s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.datname = current_database() AND a.application_name LIKE 'instance-%' ORDER BY name");
      expect(found.rows).toEqual([{ name: 'instance-a', ssl: false }, { name: 'instance-b', ssl: true }]);
    } finally {
      await admin.end();
    }
  });

  it('keep feedback sent to one where the other reads it', async () => {
    const token = await signToken(key, { iss: ISS, aud: `${BASE}${FEEDBACK}` });
    expect((await call(a, 'POST', FEEDBACK, feedbackBody, bearer(token))).status).toBe(200);
    expect((await b.built.parts.feedback.list('intrathecal-order-sign')).map((f) => [f.card, f.outcome, f.overrideReason])).toEqual([
      [feedbackBody.feedback[0]?.card, 'overridden', { userComment: 'peer-to-peer scheduled' }],
    ]);
  });

  it('keep one audit log: a call one answered is read through the other, and the read is listed by the first', async () => {
    const token = await signToken(key, { iss: ISS, aud: `${BASE}${ORDER_SIGN}` });
    expect((await call(a, 'POST', ORDER_SIGN, seed(), { ...bearer(token), 'X-Request-Id': 'answered-by-a' })).status).toBe(200);
    // A's writer has written what A answered: what any reader may rely on once the call is a moment old.
    await a.built.parts.auditWriter.idle();
    const read = await call(b, 'GET', '/audit/hook-invocations?requestId=answered-by-a', undefined, bearer(readerToken));
    expect(read.status).toBe(200);
    expect(read.body['entries']).toMatchObject([{ requestId: 'answered-by-a', client: ISS, status: 200, hook: 'order-sign', request: { hook: 'order-sign' } }]);
    const reads = await call(a, 'GET', '/audit/reads?reader=pa-lead', undefined, bearer(readerToken));
    expect((reads.body['entries'] as { query: string }[]).map((r) => r.query)).toContain('/audit/hook-invocations?requestId=answered-by-a');
  });

  it('answer 503 with Retry-After once the database is gone, for hook calls, feedback and audit reads alike, and say so to a readiness probe', async () => {
    for (const instance of [a, b]) expect((await call(instance, 'GET', '/readyz')).body).toMatchObject({ status: 'ready', database: 'PostgreSQL (DATABASE_URL)' });
    // With PostgreSQL, /healthz also says how much waits in the audit spool on this machine's disk (nothing yet).
    expect((await call(a, 'GET', '/healthz')).body).toMatchObject({ audit: { notWritten: 0, retrying: false, spoolBytes: 0 } });
    await dropPostgresDatabase(url);
    // Not ready (a load balancer sends the calls elsewhere), though alive.
    const ready = await call(a, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toBe('5');
    expect(ready.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'transient' }] });
    expect((await call(a, 'GET', '/healthz')).status).toBe(200);
    const audit = await call(b, 'GET', '/audit/hook-invocations', undefined, bearer(readerToken));
    expect(audit.status).toBe(503);
    expect(audit.headers.get('retry-after')).toBe('5');
    for (const [path, body] of [[ORDER_SIGN, seed()], [FEEDBACK, feedbackBody]] as const) {
      const res = await call(a, 'POST', path, body, bearer(await signToken(key, { iss: ISS, aud: `${BASE}${path}` })));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(res.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] });
    }
  });
});

/** Starts the service (src/main.ts) with a DATABASE_URL it should refuse; resolves with its exit code and output. */
async function startRefused(databaseUrl: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, NODE_ENV: 'development', PORT: '0', EMBEDDED_FHIR: 'false', STORE_PATH: join(mkdtempSync(join(tmpdir(), 'itcds-')), 's.sqlite'), DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, out };
}

describe('a DATABASE_URL that cannot be reached at start', () => {
  it('stops the service before it listens, naming the variable and not the password', async () => {
    const { code, out } = await startRefused(`postgres://itcds:hunter2-not-printed@127.0.0.1:${await freePort()}/nothing`);
    expect(code).toBe(1);
    expect(out).toContain('intrathecal-cds did not start: DATABASE_URL: the database could not be reached or set up');
    expect(out).not.toContain('"listening"');
    expect(out).not.toContain('hunter2-not-printed');
  });

  it("stops the service when the server's certificate is not from a trusted CA, saying so", async () => {
    const database = new URL(await freshPostgresDatabase());
    database.password = 'hunter2-not-printed';
    // verify-full without sslrootcert: the server's certificate must chain to Node's public CAs, which the run's does not.
    database.search = 'sslmode=verify-full';
    const { code, out } = await startRefused(database.toString());
    expect(code).toBe(1);
    expect(out).toMatch(/intrathecal-cds did not start: DATABASE_URL: the database could not be reached or set up: .*certificate/);
    expect(out).not.toContain('"listening"');
    expect(out).not.toContain('hunter2-not-printed');
    expect(out).not.toMatch(/\n\s+at /);
  });
});
