/**
 * The audit log keeps what the service read from the EHR for a call (a call answered without prefetch was judged on
 * data its body does not hold), as read: against the embedded FHIR server (Medplum's, in process) for a whole
 * record, and against a stand-in server only for the faults a real one will not produce on demand (a 500, a 503).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredInvocation } from '../../src/store/audit-store.js';
import { addAuditReader, call, fixtureRequest, startFakeFhir, startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';

const ORDER_SIGN = '/cds-services/intrathecal-order-sign';
const ACCESS_TOKEN = 'ehr-lent-token-for-reads-7c2e';
const readersFile = join(mkdtempSync(join(tmpdir(), 'itcds-readers-')), 'readers.json');
let token: string;
let svc: RunningService;

interface Fetched {
  readonly fhirServer?: string;
  readonly reads: { url: string; ms: number; status?: number; body?: Record<string, unknown>; error?: string }[];
}

beforeAll(async () => {
  token = addAuditReader('pa-lead', readersFile);
  svc = await startService({ AUDIT_READERS_FILE: readersFile });
});
afterAll(() => svc.stop());

/** Signs with a request id, then reads that call back from the audit log. */
async function signAndRead(body: unknown, requestId: string): Promise<{ status: number; entry: StoredInvocation | undefined; page: string }> {
  const res = await call(svc, 'POST', ORDER_SIGN, body, { 'X-Request-Id': requestId });
  const found = await call(svc, 'GET', `/audit/hook-invocations?requestId=${requestId}`, undefined, { Authorization: `Bearer ${token}` });
  return { status: res.status, entry: (found.body['entries'] as StoredInvocation[])[0], page: JSON.stringify(found.body) };
}

/** `Type/id` of every resource a read brought back: the resource itself, or a Bundle's entries. */
function resourcesRead(fetched: Fetched): string[] {
  return fetched.reads.flatMap((r) => {
    const body = r.body as { resourceType: string; id?: string; entry?: { resource: { resourceType: string; id: string } }[] } | undefined;
    if (body === undefined) return [];
    if (body.resourceType !== 'Bundle') return [`${body.resourceType}/${String(body.id)}`];
    return (body.entry ?? []).map((e) => `${e.resource.resourceType}/${e.resource.id}`);
  }).sort();
}

/** `Type/id` of every resource a request's prefetch holds. */
function resourcesPrefetched(request: ReturnType<typeof fixtureRequest>): string[] {
  return Object.values(request.prefetch ?? {}).flatMap((value) => {
    const v = value as { resourceType: string; id?: string; entry?: { resource: { resourceType: string; id: string } }[] };
    return v.resourceType === 'Bundle' ? (v.entry ?? []).map((e) => `${e.resource.resourceType}/${e.resource.id}`) : [`${v.resourceType}/${String(v.id)}`];
  }).sort();
}

describe('what the service read from the EHR, kept with the call', () => {
  it.each(['seed-a', 'seed-b'])('%s without prefetch: every read, its URL and the record as read, which is the record the prefetch would have sent', async (seed) => {
    const fhirServer = `${svc.baseUrl}/fhir`;
    const body = { ...fixtureRequest(`${seed}.order-sign.no-prefetch.json`), fhirServer };
    const { status, entry } = await signAndRead(body, `fetched-${seed}`);
    expect(status).toBe(200);
    const fetched = entry?.fetched as Fetched;
    expect(fetched.fhirServer).toBe(fhirServer);
    const patientId = String(body.context['patientId']);
    expect(fetched.reads.map((r) => r.url)).toContain(`${fhirServer}/Patient/${patientId}`);
    expect(fetched.reads.map((r) => r.url)).toContain(`${fhirServer}/Condition?patient=${patientId}`);
    expect(fetched.reads.every((r) => r.status === 200 && r.error === undefined && r.ms >= 0)).toBe(true);
    expect(resourcesRead(fetched)).toEqual(resourcesPrefetched(fixtureRequest(`${seed}.order-sign.json`)));
  });

  it('keeps nothing read when everything came prefetched', async () => {
    const { status, entry } = await signAndRead(fixtureRequest('seed-a.order-sign.json'), 'fetched-none');
    expect(status).toBe(200);
    expect(entry?.fetched).toBeNull();
  });

  it('keeps the reads that failed, with the status and why, and those of a call refused 412, without the token lent', async () => {
    // A stand-in server: a real one does not answer 500 and 503 on demand.
    const failing = await startFakeFhir((req, res) => {
      res.setHeader('Content-Type', 'application/fhir+json');
      if (req.url?.startsWith('/fhir/Patient/')) res.end(JSON.stringify({ resourceType: 'Patient', id: 'it-seed-a' }));
      else if (req.url?.startsWith('/fhir/Observation')) res.writeHead(500).end('{}');
      else if (req.url?.startsWith('/fhir/Condition')) res.writeHead(503).end('{}');
      else res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [] }));
    });
    try {
      const body = { ...fixtureRequest('seed-a.order-sign.no-prefetch.json'), fhirServer: failing.url, fhirAuthorization: { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'intrathecal-cds' } };
      const { status, entry, page } = await signAndRead(body, 'fetched-failing');
      expect(status).toBe(412);
      expect(failing.requests.every((r) => r.authorization === `Bearer ${ACCESS_TOKEN}`)).toBe(true);
      const reads = (entry?.fetched as Fetched).reads;
      expect(reads.find((r) => r.url.startsWith(`${failing.url}/Observation?`))).toMatchObject({ status: 500, error: 'FHIR server answered HTTP 500' });
      expect(reads.find((r) => r.url.startsWith(`${failing.url}/Condition?`))).toMatchObject({ status: 503, error: 'FHIR server answered HTTP 503' });
      expect(reads.find((r) => r.url.startsWith(`${failing.url}/Observation?`))?.body).toBeUndefined();
      expect(reads.find((r) => r.url === `${failing.url}/Patient/it-seed-a`)?.body).toEqual({ resourceType: 'Patient', id: 'it-seed-a' });
      expect(reads).toHaveLength(failing.requests.length);
      expect(page).not.toContain(ACCESS_TOKEN);
    } finally {
      await failing.stop();
    }
  });

  it('keeps a body that is JSON but no FHIR resource, saying so', async () => {
    const odd = await startFakeFhir((req, res) => {
      res.setHeader('Content-Type', 'application/fhir+json');
      if (req.url?.startsWith('/fhir/Procedure')) res.end('[1, 2]');
      else if (req.url?.startsWith('/fhir/Patient/')) res.end(JSON.stringify({ resourceType: 'Patient', id: 'it-seed-a' }));
      else res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [] }));
    });
    try {
      const { status, entry } = await signAndRead({ ...fixtureRequest('seed-a.order-sign.no-prefetch.json'), fhirServer: odd.url }, 'fetched-odd');
      expect(status).toBe(200);
      const read = (entry?.fetched as Fetched).reads.find((r) => r.url.startsWith(`${odd.url}/Procedure?`));
      expect(read).toMatchObject({ status: 200, body: [1, 2], error: 'FHIR server answered with something that is not a FHIR resource' });
    } finally {
      await odd.stop();
    }
  });
});
