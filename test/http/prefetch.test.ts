import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { call, fixtureRequest, recordingEvaluator, startFakeFhir, startService } from '../support/harness.js';
import type { FakeFhir, RunningService } from '../support/harness.js';

const recorder = recordingEvaluator();
let svc: RunningService;
let fake: FakeFhir | undefined;
beforeAll(async () => {
  svc = await startService({ PREFETCH_DEADLINE_MS: '400' }, { evaluate: recorder.evaluate });
});
afterAll(() => svc.stop());
afterEach(async () => {
  await fake?.stop();
  fake = undefined;
});

const ORDER_SIGN = '/cds-services/intrathecal-order-sign';
const issues = (body: Record<string, unknown>) => body['issue'] as { code: string; expression?: string[]; details: { text: string } }[];

/** A stand-in FHIR server that answers empty searchsets and a Patient, and records what it was asked. */
async function emptyFhir(): Promise<FakeFhir> {
  return startFakeFhir((req, res) => {
    res.setHeader('Content-Type', 'application/fhir+json');
    if (req.url?.startsWith('/fhir/Patient/')) res.end(JSON.stringify({ resourceType: 'Patient', id: 'it-seed-a' }));
    else res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [] }));
  });
}

describe('prefetch: what the client sent, what the service reads itself', () => {
  it('reads only the keys the client did not send, in one go, with the bearer token', async () => {
    fake = await emptyFhir();
    const body = fixtureRequest('seed-a.order-sign.json');
    delete body.prefetch?.['observations'];
    delete body.prefetch?.['procedures'];
    const res = await call(svc, 'POST', ORDER_SIGN, { ...body, fhirServer: fake.url, fhirAuthorization: { access_token: 'tok-123', token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'intrathecal-cds' } });
    expect(res.status).toBe(200);
    expect(fake.requests.map((r) => r.url).sort()).toEqual(['/fhir/Observation?patient=it-seed-a', '/fhir/Procedure?patient=it-seed-a']);
    expect(fake.requests.every((r) => r.authorization === 'Bearer tok-123')).toBe(true);
  });

  it('takes null as "looked, found nothing" and does not ask again', async () => {
    fake = await emptyFhir();
    const body = fixtureRequest('seed-a.order-sign.json');
    body.prefetch = { ...body.prefetch, coverages: null, observations: null };
    const res = await call(svc, 'POST', ORDER_SIGN, { ...body, fhirServer: fake.url });
    expect(res.status).toBe(200);
    expect(fake.requests).toEqual([]);
    const input = recorder.inputs.at(-1);
    expect(input?.data.resources['coverages']).toEqual([]);
    expect(input?.data.unavailable).toEqual([]);
  });

  it('calls the FHIR server without Authorization when the access token is empty', async () => {
    fake = await emptyFhir();
    const body = fixtureRequest('seed-a.order-sign.no-prefetch.json');
    const res = await call(svc, 'POST', ORDER_SIGN, { ...body, fhirServer: fake.url, fhirAuthorization: { access_token: '', token_type: 'Bearer' } });
    expect(res.status).toBe(200);
    expect(fake.requests.length).toBe(10);
    expect(fake.requests.some((r) => r.authorization !== undefined)).toBe(false);
  });

  it('answers 412 naming every required key when there is neither prefetch nor fhirServer', async () => {
    const body = fixtureRequest('seed-a.order-sign.no-prefetch.json');
    delete body['fhirServer'];
    const res = await call(svc, 'POST', ORDER_SIGN, body);
    expect(res.status).toBe(412);
    expect(issues(res.body).map((i) => i.expression?.[0]).sort()).toEqual(
      ['prefetch.conditions', 'prefetch.devices', 'prefetch.medicationRequests', 'prefetch.patient'].sort()
    );
  });

  it('reports optional keys it could not have to the evaluation instead of failing', async () => {
    const body = fixtureRequest('seed-a.order-sign.json');
    delete body['fhirServer'];
    delete body.prefetch?.['coverages'];
    const res = await call(svc, 'POST', ORDER_SIGN, body);
    expect(res.status).toBe(200);
    expect(recorder.inputs.at(-1)?.data.unavailable.map((u) => u.key)).toEqual(['coverages']);
  });

  it('treats an OperationOutcome prefetch value as an error for that key: 412 for a required key', async () => {
    const body = fixtureRequest('seed-a.order-sign.json');
    body.prefetch = { ...body.prefetch, conditions: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden', diagnostics: 'scope does not allow Condition' }] } };
    const res = await call(svc, 'POST', ORDER_SIGN, body);
    expect(res.status).toBe(412);
    expect(issues(res.body)[0]?.expression).toEqual(['prefetch.conditions']);
    expect(issues(res.body)[0]?.details.text).toContain('scope does not allow Condition');
  });

  it('answers 412 within the deadline when the FHIR server never answers', async () => {
    fake = await startFakeFhir(() => {
      /* never answers */
    });
    const started = Date.now();
    const res = await call(svc, 'POST', ORDER_SIGN, { ...fixtureRequest('seed-a.order-sign.no-prefetch.json'), fhirServer: fake.url });
    expect(res.status).toBe(412);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(issues(res.body).every((i) => i.code === 'timeout')).toBe(true);
    expect(issues(res.body)[0]?.details.text).toContain('deadline');
  });

  it.each([
    ['answers 500', (res: ServerResponse) => { res.statusCode = 500; res.end('{"resourceType":"OperationOutcome"}'); }, 'HTTP 500'],
    ['answers malformed JSON', (res: ServerResponse) => { res.end('{"resourceType": "Bundle", '); }, 'malformed JSON'],
    ['redirects elsewhere', (res: ServerResponse) => { res.statusCode = 302; res.setHeader('Location', 'http://127.0.0.1:9/steal'); res.end(); }, 'redirect'],
    ['answers a Bundle of the wrong type', (res: ServerResponse) => { res.end('{"resourceType":"Bundle","type":"transaction-response"}'); }, 'type transaction-response'],
  ])('answers 412 when the FHIR server %s', async (_name, handler, message) => {
    fake = await startFakeFhir((req, res) => {
      if (req.url?.startsWith('/fhir/Patient/')) res.end(JSON.stringify({ resourceType: 'Patient', id: 'it-seed-a' }));
      else handler(res);
    });
    const res = await call(svc, 'POST', ORDER_SIGN, { ...fixtureRequest('seed-a.order-sign.no-prefetch.json'), fhirServer: fake.url });
    expect(res.status).toBe(412);
    expect(issues(res.body).map((i) => i.expression?.[0])).toContain('prefetch.conditions');
    expect(issues(res.body)[0]?.details.text).toContain(message);
    expect(fake.requests.filter((r) => r.url.includes('steal'))).toEqual([]);
  });

  it('follows next links on the same server and gathers every page', async () => {
    fake = await startFakeFhir((req, res, base) => {
      const url = req.url ?? '';
      const page = Number(new URL(url, 'http://x').searchParams.get('page') ?? '1');
      if (url.startsWith('/fhir/Patient/')) {
        res.end(JSON.stringify({ resourceType: 'Patient', id: 'it-seed-a' }));
        return;
      }
      const type = url.slice('/fhir/'.length).split('?')[0] ?? '';
      const bundle = {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: [{ resource: { resourceType: type, id: `${type}-${page}` } }],
        ...(page < 3 ? { link: [{ relation: 'next', url: `${base}/${type}?patient=it-seed-a&page=${page + 1}` }] } : {}),
      };
      res.end(JSON.stringify(bundle));
    });
    const res = await call(svc, 'POST', ORDER_SIGN, { ...fixtureRequest('seed-a.order-sign.no-prefetch.json'), fhirServer: fake.url });
    expect(res.status).toBe(200);
    expect(recorder.inputs.at(-1)?.data.resources['conditions']?.map((r) => r.id)).toEqual(['Condition-1', 'Condition-2', 'Condition-3']);
  });

  it("follows the next page of a prefetched Bundle even when every key was prefetched", async () => {
    fake = await startFakeFhir((_req, res) => {
      res.setHeader('Content-Type', 'application/fhir+json');
      res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [{ resource: { resourceType: 'Condition', id: 'on-page-2', subject: { reference: 'Patient/it-seed-a' } } }] }));
    });
    const body = fixtureRequest('seed-a.order-sign.json');
    const conditions = body.prefetch?.['conditions'] as { link?: unknown[] };
    conditions.link = [{ relation: 'next', url: `${fake.url}/Condition?patient=it-seed-a&page=2` }];
    const res = await call(svc, 'POST', ORDER_SIGN, { ...body, fhirServer: fake.url });
    expect(res.status).toBe(200);
    expect(fake.requests.map((r) => r.url)).toEqual(['/fhir/Condition?patient=it-seed-a&page=2']);
    expect(recorder.inputs.at(-1)?.data.resources['conditions']?.map((r) => r.id)).toContain('on-page-2');
  });

  it('stops a server that pages without end, with a 412 that says so', async () => {
    fake = await startFakeFhir((req, res, base) => {
      if (req.url?.startsWith('/fhir/Patient/')) {
        res.end(JSON.stringify({ resourceType: 'Patient', id: 'it-seed-a' }));
        return;
      }
      const type = (req.url ?? '').slice('/fhir/'.length).split('?')[0] ?? '';
      res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [], link: [{ relation: 'next', url: `${base}/${type}?patient=it-seed-a&page=${Math.random()}` }] }));
    });
    const res = await call(svc, 'POST', ORDER_SIGN, { ...fixtureRequest('seed-a.order-sign.no-prefetch.json'), fhirServer: fake.url });
    // Whichever comes first on this machine, the page limit or the request deadline, the answer is a bounded 412.
    expect(res.status).toBe(412);
    expect(issues(res.body)[0]?.details.text).toMatch(/more than 50 pages|did not answer in time/);
    // One read of the Patient, at most 50 pages for each of the nine search keys.
    expect(fake.requests.length).toBeLessThanOrEqual(1 + 9 * 50);
    // Without a deadline in the way, the page limit itself ends the search.
    const { collectPages } = await import('../../src/fhir/fhir-client.js');
    const source = { baseUrl: fake.url, signal: AbortSignal.timeout(60_000), callTimeoutMs: 5000 };
    const first = { resourceType: 'Bundle' as const, type: 'searchset' as const, link: [{ relation: 'next', url: `${fake.url}/Condition?patient=it-seed-a&page=0` }] };
    await expect(collectPages(first, 'Condition', source)).rejects.toThrow('FHIR server returned more than 50 pages');
  });

  it('does not follow a next link that points at another server', async () => {
    fake = await startFakeFhir((req, res) => {
      if (req.url?.startsWith('/fhir/Patient/')) res.end(JSON.stringify({ resourceType: 'Patient', id: 'it-seed-a' }));
      else res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'next', url: 'http://127.0.0.1:9/fhir/Condition?page=2' }] }));
    });
    const res = await call(svc, 'POST', ORDER_SIGN, { ...fixtureRequest('seed-a.order-sign.no-prefetch.json'), fhirServer: fake.url });
    expect(res.status).toBe(412);
    expect(issues(res.body)[0]?.details.text).toContain('another server');
  });
});
