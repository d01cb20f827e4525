import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newReaderToken, tokenHash } from '../../src/audit/readers.js';
import { call, captureLog, fixtureRequest, startFakeFhir, startService, tempStorePath } from '../support/harness.js';
import type { FakeFhir, RunningService } from '../support/harness.js';
import { makeKey, serveJwks, signToken } from '../support/jwt.js';
import type { TestKey } from '../support/jwt.js';

const BASE = 'https://cds.test.example';
const ORDER_SIGN = '/cds-services/intrathecal-order-sign';
const AUD = `${BASE}${ORDER_SIGN}`;

let es384: TestKey;
let rs384: TestKey;
let rs256: TestKey;
let jwks: FakeFhir;
let fhirA: FakeFhir;
let fhirB: FakeFhir;
let svc: RunningService;
let clientsFile: string;
let storePath: string;

function clientsJson(): unknown[] {
  return [
    { iss: 'https://ehr-a.example', jwks: { keys: [es384.publicJwk] }, fhirServers: [fhirA.url] },
    { iss: 'https://ehr-b.example', jwksUrl: [jwks.url], fhirServers: [], algorithms: ['RS384'] },
    { iss: 'https://reqgen.example', jwks: { keys: [rs256.publicJwk] }, fhirServers: [], algorithms: ['RS256'] },
  ];
}

beforeAll(async () => {
  [es384, rs384, rs256] = await Promise.all([makeKey('ES384'), makeKey('RS384'), makeKey('RS256')]);
  jwks = await serveJwks([rs384]);
  const record = (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Content-Type', 'application/fhir+json');
    if (req.url?.startsWith('/fhir/Patient/')) res.end(JSON.stringify({ resourceType: 'Patient', id: 'it-seed-a' }));
    else res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [] }));
  };
  [fhirA, fhirB] = await Promise.all([startFakeFhir(record), startFakeFhir(record)]);
  clientsFile = join(mkdtempSync(join(tmpdir(), 'itcds-clients-')), 'clients.json');
  writeFileSync(clientsFile, JSON.stringify(clientsJson()));
  storePath = tempStorePath();
  // Development mode with every convenience off runs the same verification as production and allows http URLs
  // for the local JWKS and FHIR stand-ins; a production-mode instance is tested below.
  svc = await startService({ NODE_ENV: 'development', LOG_LEVEL: 'silent', PUBLIC_BASE_URL: BASE, CDS_CLIENTS_FILE: clientsFile, ALLOW_UNAUTHENTICATED: 'false', TRUST_SANDBOX: 'false', STORE_PATH: storePath, EMBEDDED_FHIR: 'false' });
});
afterAll(async () => {
  await Promise.all([svc.stop(), jwks.stop(), fhirA.stop(), fhirB.stop()]);
});

const seed = () => {
  const body = fixtureRequest('seed-a.order-sign.json');
  delete body['fhirServer'];
  return body;
};
const post = (token: string | undefined, body: unknown = seed(), path = ORDER_SIGN) => call(svc, 'POST', path, body, token ? { Authorization: `Bearer ${token}` } : {});

describe('client authentication (JWT)', () => {
  it('refuses a hook call without a token: 401, generic OperationOutcome, WWW-Authenticate', async () => {
    const res = await post(undefined);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(res.body).toEqual({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'security', details: { text: 'Authentication required' } }] });
  });

  it('accepts ES384 verified against the inline pinned JWKS', async () => {
    expect((await post(await signToken(es384, { iss: 'https://ehr-a.example', aud: AUD }))).status).toBe(200);
  });

  it('accepts RS384 verified against the JWKS URL on the issuer allow-list, and an aud array holding the URL', async () => {
    expect((await post(await signToken(rs384, { iss: 'https://ehr-b.example', aud: [AUD, 'https://other.example'] }))).status).toBe(200);
    expect(jwks.requests.length).toBeGreaterThan(0);
  });

  it('accepts RS256 only where the client entry allows it', async () => {
    expect((await post(await signToken(rs256, { iss: 'https://reqgen.example', aud: AUD }))).status).toBe(200);
    const rs256ForA = await makeKey('RS256');
    expect((await post(await signToken(rs256ForA, { iss: 'https://ehr-a.example', aud: AUD }))).status).toBe(401);
  });

  it.each([
    ['without kid', () => signToken(es384, { iss: 'https://ehr-a.example', aud: AUD, kid: null })],
    ['for another endpoint (aud)', () => signToken(es384, { iss: 'https://ehr-a.example', aud: `${BASE}/cds-services/intrathecal-patient-view` })],
    ['with aud = the local address instead of the public base URL', () => signToken(es384, { iss: 'https://ehr-a.example', aud: `${svc.baseUrl}${ORDER_SIGN}` })],
    ['expired', () => signToken(es384, { iss: 'https://ehr-a.example', aud: AUD, iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 300 })],
    ['issued in the future', () => signToken(es384, { iss: 'https://ehr-a.example', aud: AUD, iat: Math.floor(Date.now() / 1000) + 600, exp: Math.floor(Date.now() / 1000) + 700 })],
    ['living longer than allowed', () => signToken(es384, { iss: 'https://ehr-a.example', aud: AUD, exp: Math.floor(Date.now() / 1000) + 3600 })],
    ['from an unknown issuer', () => signToken(es384, { iss: 'https://stranger.example', aud: AUD })],
    ['signed by a key that is not the issuer\'s', async () => signToken(await makeKey('ES384'), { iss: 'https://ehr-a.example', aud: AUD })],
    ['signed with HS256 (symmetric)', () => new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: es384.kid }).setIssuer('https://ehr-a.example').setAudience(AUD).setJti(randomUUID()).setIssuedAt().setExpirationTime('1m').sign(new TextEncoder().encode('a-shared-secret-of-32-bytes-long!'))],
    ['unsigned (alg none)', () => Promise.resolve(`${Buffer.from(JSON.stringify({ alg: 'none', kid: 'x' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: 'https://ehr-a.example', aud: AUD, jti: randomUUID(), iat: 1, exp: 9999999999 })).toString('base64url')}.`)],
    ['that is not a JWT', () => Promise.resolve('not-a-jwt')],
  ])('refuses a token %s with the same generic 401', async (_name, make) => {
    const res = await post(await make());
    expect(res.status).toBe(401);
    expect((res.body['issue'] as { details: { text: string } }[])[0]?.details.text).toBe('Authentication required');
  });

  it('records a verified call in the audit log under its issuer, and never a call it refused', async () => {
    const audit = svc.built.parts.audit;
    const before = (await audit.search({ limit: 1000 })).length;
    const res = await call(svc, 'POST', ORDER_SIGN, seed(), { Authorization: `Bearer ${await signToken(es384, { iss: 'https://ehr-a.example', aud: AUD })}`, 'X-Request-Id': 'audit-verified' });
    expect(res.status).toBe(200);
    await svc.built.parts.auditWriter.idle();
    expect((await audit.search({ requestId: 'audit-verified', limit: 2 })).map((e) => [e.client, e.status])).toEqual([['https://ehr-a.example', 200]]);
    expect((await call(svc, 'POST', ORDER_SIGN, seed(), { Authorization: 'Bearer not-a-jwt' })).status).toBe(401);
    expect((await post(undefined)).status).toBe(401);
    await svc.built.parts.auditWriter.idle();
    expect(await audit.search({ limit: 1000 })).toHaveLength(before + 1);
  });

  it('refuses a replayed jti, also on another instance sharing the store', async () => {
    const token = await signToken(es384, { iss: 'https://ehr-a.example', aud: AUD });
    expect((await post(token)).status).toBe(200);
    expect((await post(token)).status).toBe(401);
    const twin = await startService({ NODE_ENV: 'development', PUBLIC_BASE_URL: BASE, CDS_CLIENTS_FILE: clientsFile, ALLOW_UNAUTHENTICATED: 'false', TRUST_SANDBOX: 'false', STORE_PATH: storePath, EMBEDDED_FHIR: 'false' });
    try {
      const fresh = await signToken(es384, { iss: 'https://ehr-a.example', aud: AUD });
      expect((await call(twin, 'POST', ORDER_SIGN, seed(), { Authorization: `Bearer ${fresh}` })).status).toBe(200);
      expect((await post(fresh)).status).toBe(401);
    } finally {
      await twin.stop();
    }
  });

  it('answers 503 at once while another connection holds the replay store, and goes on serving what needs no store', async () => {
    // A real lock on STORE_PATH, as an operator's open sqlite3 transaction or VACUUM holds it. Before, each call
    // held the event loop (every call of the process) for the 5 s busy timeout.
    const locker = new DatabaseSync(storePath);
    // Waits out a write of the service's that is under way, rather than failing the test on it.
    locker.exec('PRAGMA busy_timeout = 5000');
    locker.exec('BEGIN IMMEDIATE');
    try {
      const started = performance.now();
      const refused = await post(await signToken(es384, { iss: 'https://ehr-a.example', aud: AUD }));
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(refused.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'transient' }] });
      const burst = await Promise.all(Array.from({ length: 20 }, async () => (await post(await signToken(es384, { iss: 'https://ehr-a.example', aud: AUD }))).status));
      expect(burst).toEqual(Array.from({ length: 20 }, () => 503));
      expect((await call(svc, 'GET', '/cds-services')).status).toBe(200);
      // One moment's wait, then the calls within the next second refused without waiting: 21 calls, not 21 x 250 ms.
      expect(performance.now() - started).toBeLessThan(2000);
    } finally {
      locker.exec('COMMIT');
      locker.close();
    }
    expect((await post(await signToken(es384, { iss: 'https://ehr-a.example', aud: AUD }))).status).toBe(200);
  });

  it('honours a jku only when it is on the issuer allow-list, and never fetches one that is not', async () => {
    const rogue = await serveJwks([rs384]);
    try {
      const bad = await signToken(rs384, { iss: 'https://ehr-b.example', aud: AUD, jku: rogue.url });
      expect((await post(bad)).status).toBe(401);
      expect(rogue.requests).toEqual([]);
      const good = await signToken(rs384, { iss: 'https://ehr-b.example', aud: AUD, jku: jwks.url });
      expect((await post(good)).status).toBe(200);
    } finally {
      await rogue.stop();
    }
  });

  it('requires a token on feedback too (aud = the feedback URL), but not on discovery', async () => {
    const feedback = { feedback: [{ card: randomUUID(), outcome: 'overridden', overrideReason: { userComment: 'not relevant' }, outcomeTimestamp: '2026-11-20T15:00:00Z' }] };
    expect((await post(undefined, feedback, `${ORDER_SIGN}/feedback`)).status).toBe(401);
    const token = await signToken(es384, { iss: 'https://ehr-a.example', aud: `${AUD}/feedback` });
    expect((await post(token, feedback, `${ORDER_SIGN}/feedback`)).status).toBe(200);
    expect((await call(svc, 'GET', '/cds-services')).status).toBe(200);
  });
});

describe('fhirServer allow-list', () => {
  it('contacts an allowed fhirServer with the token, and never one the client is not allowed', async () => {
    const body = fixtureRequest('seed-a.order-sign.no-prefetch.json');
    const auth = { access_token: 'fhir-token-A', token_type: 'Bearer', expires_in: 30, scope: 'patient/*.read', subject: 'intrathecal-cds' };
    const allowed = await post(await signToken(es384, { iss: 'https://ehr-a.example', aud: AUD }), { ...body, fhirServer: fhirA.url, fhirAuthorization: auth });
    expect(allowed.status).toBe(200);
    expect(fhirA.requests.length).toBe(10);
    expect(fhirA.requests.every((r) => r.authorization === 'Bearer fhir-token-A')).toBe(true);

    const refused = await post(await signToken(es384, { iss: 'https://ehr-a.example', aud: AUD }), { ...body, fhirServer: fhirB.url, fhirAuthorization: auth });
    expect(refused.status).toBe(412);
    expect(JSON.stringify(refused.body)).toContain('not one this caller may have the service contact');
    expect(fhirB.requests).toEqual([]);
  });

  it('does not accept a sibling path or another port as the allowed server', async () => {
    const { matchesAllowed } = await import('../../src/security/access.js');
    expect(matchesAllowed('https://ehr.example/fhir/R4', ['https://ehr.example/fhir'])).toBe(true);
    expect(matchesAllowed('https://ehr.example/fhir-evil', ['https://ehr.example/fhir'])).toBe(false);
    expect(matchesAllowed('https://ehr.example:8443/fhir', ['https://ehr.example/fhir'])).toBe(false);
    expect(matchesAllowed('https://user:pw@ehr.example/fhir', ['https://ehr.example/fhir'])).toBe(false);
    expect(matchesAllowed('http://ehr.example/fhir', ['https://ehr.example/fhir'])).toBe(false);
  });
});

describe('production mode', () => {
  it('serves a valid client, refuses unauthenticated calls, and refuses http fhirServers in the clients file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'itcds-clients-')), 'clients.json');
    writeFileSync(file, JSON.stringify([{ iss: 'https://ehr-a.example', jwks: { keys: [es384.publicJwk] }, fhirServers: ['https://ehr-a.example/fhir'] }]));
    const prod = await startService({ NODE_ENV: 'production', PUBLIC_BASE_URL: BASE, CDS_CLIENTS_FILE: file, LOG_LEVEL: 'silent' });
    try {
      expect((await call(prod, 'POST', ORDER_SIGN, seed())).status).toBe(401);
      const ok = await call(prod, 'POST', ORDER_SIGN, seed(), { Authorization: `Bearer ${await signToken(es384, { iss: 'https://ehr-a.example', aud: AUD })}` });
      expect(ok.status).toBe(200);
      expect((await call(prod, 'GET', '/fhir/metadata')).status).toBe(404);
    } finally {
      await prod.stop();
    }
    writeFileSync(file, JSON.stringify([{ iss: 'https://ehr-a.example', jwks: { keys: [es384.publicJwk] }, fhirServers: ['http://ehr-a.example/fhir'] }]));
    await expect(startService({ NODE_ENV: 'production', PUBLIC_BASE_URL: BASE, CDS_CLIENTS_FILE: file })).rejects.toThrow(/must be https in production/);
  });

  it('with EMBEDDED_FHIR=true, warns that its EHR signs everyone in, and its FHIR server wants a token', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'itcds-clients-')), 'clients.json');
    writeFileSync(file, JSON.stringify([{ iss: 'https://ehr-a.example', jwks: { keys: [es384.publicJwk] }, fhirServers: ['https://ehr-a.example/fhir'] }]));
    const { lines, log } = captureLog();
    const prod = await startService({ NODE_ENV: 'production', PUBLIC_BASE_URL: BASE, CDS_CLIENTS_FILE: file, EMBEDDED_FHIR: 'true' }, { log });
    try {
      const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40);
      expect(warnings.map((w) => w.msg)).toEqual([
        expect.stringMatching(/^EMBEDDED_FHIR=true in production: .*without a password.*synthetic data only$/),
        'no AUDIT_READERS_FILE: the audit log is kept but nobody can read it over HTTP',
      ]);
      expect((await call(prod, 'GET', '/fhir/metadata')).status).toBe(200);
      expect((await call(prod, 'GET', '/fhir/Condition?patient=it-seed-a')).status).toBe(401);
    } finally {
      await prod.stop();
    }
  });
});

describe('development default', () => {
  it('serves unauthenticated calls when ALLOW_UNAUTHENTICATED is on (the default)', async () => {
    const dev = await startService({ EMBEDDED_FHIR: 'false' });
    try {
      expect((await call(dev, 'POST', ORDER_SIGN, seed())).status).toBe(200);
      expect(dev.built.parts.clients.has('https://sandbox.cds-hooks.org')).toBe(true);
    } finally {
      await dev.stop();
    }
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After past the per-client limit, without affecting another client', async () => {
    const limited = await startService({ NODE_ENV: 'development', PUBLIC_BASE_URL: BASE, CDS_CLIENTS_FILE: clientsFile, ALLOW_UNAUTHENTICATED: 'false', TRUST_SANDBOX: 'false', EMBEDDED_FHIR: 'false', RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await call(limited, 'POST', ORDER_SIGN, seed(), { Authorization: `Bearer ${await signToken(es384, { iss: 'https://ehr-a.example', aud: AUD })}` })).status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      const other = await call(limited, 'POST', ORDER_SIGN, seed(), { Authorization: `Bearer ${await signToken(rs256, { iss: 'https://reqgen.example', aud: AUD })}` });
      expect(other.status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});

describe('failed authentications', () => {
  const env = (extra: Record<string, string>) => ({ NODE_ENV: 'development', PUBLIC_BASE_URL: BASE, CDS_CLIENTS_FILE: clientsFile, ALLOW_UNAUTHENTICATED: 'false', TRUST_SANDBOX: 'false', EMBEDDED_FHIR: 'false', AUTH_FAILURES_PER_MINUTE: '3', ...extra });
  // A token signed with a key the issuer does not hold: it fails only at the signature check.
  const forged = () => signToken(rs384, { iss: 'https://ehr-a.example', aud: AUD });
  const valid = () => signToken(es384, { iss: 'https://ehr-a.example', aud: AUD });
  const from = async (svcUnder: RunningService, address: string, token: string) => call(svcUnder, 'POST', ORDER_SIGN, seed(), { Authorization: `Bearer ${token}`, 'X-Forwarded-For': address });
  const refusedLines = (lines: string[]) => lines.map((l) => JSON.parse(l) as { msg: string }).filter((l) => l.msg === 'authentication refused').length;

  it('past AUTH_FAILURES_PER_MINUTE an address is refused (429) before its token is checked; another address is not', async () => {
    const { lines, log } = captureLog();
    const limited = await startService(env({ TRUST_PROXY: 'loopback' }), { log });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await from(limited, '192.0.2.1', await forged())).status);
      expect(statuses).toEqual([401, 401, 401]);
      expect(refusedLines(lines)).toBe(3);
      const warned = lines.filter((l) => l.includes('AUTH_FAILURES_PER_MINUTE'));
      expect(warned).toHaveLength(1);
      expect(warned[0]).not.toContain('192.0.2.1');

      // Even a valid token waits: telling it from a forged one would take the signature check the limit saves.
      const throttled = await from(limited, '192.0.2.1', await valid());
      expect(throttled.status).toBe(429);
      expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(throttled.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'throttled' }] });
      expect((await from(limited, '192.0.2.1', await forged())).status).toBe(429);
      expect(refusedLines(lines)).toBe(3);

      expect((await from(limited, '192.0.2.2', await valid())).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });

  it("share one count with the audit log's reader tokens, so a token cannot be guessed on either surface", async () => {
    // A readers file as `npm run audit:reader` writes it: the SHA-256 of the token, never the token.
    const readerToken = newReaderToken();
    const readersFile = join(mkdtempSync(join(tmpdir(), 'itcds-readers-')), 'readers.json');
    writeFileSync(readersFile, JSON.stringify([{ name: 'pa-lead', tokenSha256: tokenHash(readerToken) }]), { mode: 0o600 });
    const limited = await startService(env({ TRUST_PROXY: 'loopback', AUDIT_READERS_FILE: readersFile, STORE_PATH: tempStorePath(), LOG_LEVEL: 'silent' }));
    const audit = (address: string, bearer: string) => call(limited, 'GET', '/audit/reads', undefined, { Authorization: `Bearer ${bearer}`, 'X-Forwarded-For': address });
    try {
      // Two guessed reader tokens and one forged JWT use up one address's three failures...
      expect((await audit('192.0.2.30', 'guessed-1')).status).toBe(401);
      expect((await audit('192.0.2.30', 'guessed-2')).status).toBe(401);
      expect((await from(limited, '192.0.2.30', await forged())).status).toBe(401);
      // ...then the right reader token and a valid JWT from it both wait, and the wait is not recorded as a read.
      const throttled = await audit('192.0.2.30', readerToken);
      expect(throttled.status).toBe(429);
      expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(throttled.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'throttled' }] });
      expect((await from(limited, '192.0.2.30', await valid())).status).toBe(429);
      const reads = await audit('192.0.2.31', readerToken);
      expect(reads.status).toBe(200);
      expect((reads.body['entries'] as { outcome: string }[]).map((r) => r.outcome)).toEqual(['refused', 'refused']);
    } finally {
      await limited.stop();
    }
  });

  it('without TRUST_PROXY a forwarded address is not believed: the failures count against the socket address', async () => {
    const limited = await startService(env({}));
    try {
      for (let i = 0; i < 3; i++) expect((await from(limited, `192.0.2.${10 + i}`, await forged())).status).toBe(401);
      expect((await from(limited, '192.0.2.99', await valid())).status).toBe(429);
    } finally {
      await limited.stop();
    }
  });

  it('are not counted when unauthenticated calls are served anyway (development default)', async () => {
    const dev = await startService({ EMBEDDED_FHIR: 'false', AUTH_FAILURES_PER_MINUTE: '1' });
    try {
      for (let i = 0; i < 3; i++) expect((await call(dev, 'POST', ORDER_SIGN, seed(), { Authorization: 'Bearer not-a-jwt' })).status).toBe(200);
    } finally {
      await dev.stop();
    }
  });
});

