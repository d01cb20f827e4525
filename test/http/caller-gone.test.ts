/**
 * A caller that closes its connection before the answer (an EHR past its own timeout; CRD allows 5 s): the service
 * stops the reads it is making from the EHR's FHIR server for that call and starts none, instead of reading patient
 * data for nobody until its own deadline; the audit record names each read stopped. The FHIR server is a stand-in
 * that holds its searches: a real one does not hang on demand.
 */
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadServiceDefinitions } from '../../src/services/service-definitions.js';
import { assembleData } from '../../src/hooks/assemble-data.js';
import { parseHookRequest } from '../../src/hooks/parse-request.js';
import type { StoredInvocation } from '../../src/store/audit-store.js';
import { addAuditReader, call, fixtureRequest, startFakeFhir, startService } from '../support/harness.js';
import type { FakeFhir, RunningService } from '../support/harness.js';

const ORDER_SIGN = '/cds-services/intrathecal-order-sign';
const GONE = 'not read: the caller of the hook closed its connection before the answer';
const readersFile = join(mkdtempSync(join(tmpdir(), 'itcds-readers-')), 'readers.json');
let token: string;
let svc: RunningService;
let fake: FakeFhir;
/** Searches the stand-in server holds, and how many of their connections the service has closed. */
let held = 0;
let closedByService = 0;

beforeAll(async () => {
  token = addAuditReader('pa-lead', readersFile);
  // A deadline far away: whatever stops the reads in these tests, it is not the deadline.
  svc = await startService({ AUDIT_READERS_FILE: readersFile, PREFETCH_DEADLINE_MS: '30000', FHIR_CALL_TIMEOUT_MS: '30000' });
  fake = await startFakeFhir((req, res) => {
    res.setHeader('Content-Type', 'application/fhir+json');
    if (req.url?.startsWith('/fhir/Patient/')) {
      res.end(JSON.stringify({ resourceType: 'Patient', id: 'it-seed-a' }));
      return;
    }
    held += 1;
    res.on('close', () => {
      closedByService += 1;
    });
  });
});
afterAll(async () => {
  await fake.stop();
  await svc.stop();
});

describe('a caller that leaves before the answer', () => {
  it('stops the reads in progress, and the audit record names each read stopped', async () => {
    const body = JSON.stringify({ ...fixtureRequest('seed-a.order-sign.no-prefetch.json'), fhirServer: fake.url });
    const url = new URL(`${svc.baseUrl}${ORDER_SIGN}`);
    const client = request(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Request-Id': 'caller-gone-1' } });
    client.on('error', () => {
      /* the connection this test closes */
    });
    client.end(body);
    // The nine searches of order-sign wait on the stand-in server; the caller then gives up.
    await expect.poll(() => held, { timeout: 10_000, interval: 20 }).toBe(9);
    expect(closedByService).toBe(0);
    client.destroy();
    await expect.poll(() => closedByService, { timeout: 10_000, interval: 20 }).toBe(9);

    // The record is made a turn after the close and written off the request thread: polled until it is there.
    const entry = await vi.waitFor(async () => {
      const found = await call(svc, 'GET', '/audit/hook-invocations?requestId=caller-gone-1', undefined, { Authorization: `Bearer ${token}` });
      const first = (found.body['entries'] as StoredInvocation[])[0];
      if (!first) throw new Error('not recorded yet');
      return first;
    }, { timeout: 3000, interval: 50 });
    // As it stood when the caller left: no answer had gone out.
    expect(entry).toMatchObject({ delivered: false, status: null, response: null });
    const reads = (entry.fetched as { reads: { url: string; error?: string; status?: number }[] }).reads;
    expect(reads.find((r) => r.url === `${fake.url}/Patient/it-seed-a`)).toMatchObject({ status: 200 });
    const stopped = reads.filter((r) => r.error === GONE);
    expect(stopped).toHaveLength(9);
    expect(stopped.map((r) => r.url)).toContain(`${fake.url}/Condition?patient=it-seed-a`);
    // Nothing more was asked of the FHIR server than the Patient and the nine searches.
    expect(fake.requests).toHaveLength(10);
  });

  it('starts no read for a call whose caller has already left', async () => {
    const before = fake.requests.length;
    const service = loadServiceDefinitions('cds-hooks').find((s) => s.hook === 'order-sign');
    if (!service) throw new Error('no order-sign service');
    const parsed = parseHookRequest({ ...fixtureRequest('seed-a.order-sign.no-prefetch.json'), fhirServer: fake.url }, service);
    const gone = new AbortController();
    gone.abort();
    const failure = await assembleData(service, parsed, { deadlineMs: 30_000, callerGone: gone.signal }).catch((err: unknown) => err);
    expect(JSON.stringify(failure)).toContain(GONE);
    expect(fake.requests.length).toBe(before);
  });
});
