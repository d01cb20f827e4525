/**
 * The audit log as FHIR R4 AuditEvents (`GET /audit/AuditEvent`), over real HTTP with the real SQLite audit file:
 * one AuditEvent per recorded call, valid R4 by Medplum's validator with the R4 definitions, patterned on IHE BALP
 * (the EHR that called as requestor, the patient as an entity, the outcome from the status), no body copied, in a
 * searchset Bundle with absolute self and next links; the same readers and filters as /audit/hook-invocations, FHIR
 * search's `date` and `patient` too, and each read recorded.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateResource } from '@medplum/core';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureFhirDefinitions } from '../../src/fhir/definitions.js';
import type { StoredRead } from '../../src/store/audit-store.js';
import { addAuditReader, call, fixtureRequest, startService } from '../support/harness.js';
import type { Answer, RunningService } from '../support/harness.js';

const ORDER_SIGN = '/cds-services/intrathecal-order-sign';
const BASE = 'https://cds.test.example';
const readersFile = join(mkdtempSync(join(tmpdir(), 'itcds-readers-')), 'readers.json');
let token: string;
let svc: RunningService;

const read = (path: string, bearer: string | null = token): Promise<Answer> => call(svc, 'GET', path, undefined, bearer === null ? {} : { Authorization: `Bearer ${bearer}` });
const events = (a: Answer) => ((a.body as unknown as Bundle).entry ?? []).map((e) => e.resource as AuditEvent);

beforeAll(async () => {
  token = addAuditReader('compliance', readersFile);
  svc = await startService({ EMBEDDED_FHIR: 'false', AUDIT_READERS_FILE: readersFile, PUBLIC_BASE_URL: BASE }, { clock: () => new Date('2026-11-20T15:00:00Z') });
  ensureFhirDefinitions();
});
afterAll(() => svc.stop());

describe('GET /audit/AuditEvent', () => {
  it('gives each recorded call as a valid R4 AuditEvent: who called, about whom, when, how it went, and where the full record is', async () => {
    const seed = fixtureRequest('seed-a.order-sign.json');
    expect((await call(svc, 'POST', ORDER_SIGN, seed, { 'X-Request-Id': 'ae-signed' })).status).toBe(200);
    expect((await call(svc, 'POST', ORDER_SIGN, { ...seed, hook: 'patient-view' }, { 'X-Request-Id': 'ae-refused' })).status).toBe(400);
    const res = await read('/audit/AuditEvent?patient=it-seed-a');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect(res.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'self', url: `${BASE}/audit/AuditEvent?patient=it-seed-a` }] });
    const [refused, signed] = events(res);
    for (const event of [refused, signed]) expect(validateResource(event as AuditEvent)).toEqual([]);
    expect(signed).toMatchObject({
      type: { code: 'rest' }, action: 'E', recorded: '2026-11-20T15:00:00.000Z', outcome: '0', outcomeDesc: 'HTTP 200',
      agent: [{ requestor: true, who: { display: 'unauthenticated (no JWT: development)' } }, { requestor: false, who: { identifier: { value: `${BASE}/cds-services/intrathecal-order-sign` } } }],
      source: { observer: { identifier: { value: BASE } }, type: [{ code: '4' }] },
    });
    expect(signed?.entity?.[0]).toMatchObject({ what: { reference: `${String(seed['fhirServer'])}/Patient/it-seed-a` }, role: { code: '1', display: 'Patient' } });
    expect(signed?.entity?.[1]?.detail).toEqual(expect.arrayContaining([{ type: 'hookInstance', valueString: seed['hookInstance'] }, { type: 'requestId', valueString: 'ae-signed' }]));
    expect(signed?.entity?.[1]?.description).toContain(`${BASE}/audit/hook-invocations?requestId=ae-signed`);
    expect(refused).toMatchObject({ outcome: '4', outcomeDesc: 'HTTP 400' });
    // No body: not the orders, not the cards.
    expect(JSON.stringify(res.body)).not.toContain('it-seed-a-draft-morphine');
    expect(JSON.stringify(res.body)).not.toContain('"cards"');
  });

  it('pages with an absolute next link, reads only for a reader, and records each read', async () => {
    const first = await read('/audit/AuditEvent?_count=1');
    const next = (first.body as unknown as Bundle).link?.find((l) => l.relation === 'next')?.url;
    expect(next).toMatch(new RegExp(`^${BASE}/audit/AuditEvent\\?_count=1&before=\\d+-\\d+$`));
    const second = await read(next?.slice(BASE.length) ?? '');
    expect(events(second)[0]?.id).not.toBe(events(first)[0]?.id);
    expect((await read('/audit/AuditEvent', null)).status).toBe(401);
    expect((await read('/audit/AuditEvent?colour=red')).status).toBe(400);
    const reads = (await read('/audit/reads?reader=compliance')).body['entries'] as StoredRead[];
    expect(reads.map((r) => r.query)).toEqual(expect.arrayContaining(['/audit/AuditEvent?_count=1', '/audit/AuditEvent?colour=red']));
  });

  it("takes FHIR search's own parameters, as an audit repository sends them: date with prefixes, repeated, and patient as a reference", async () => {
    // The service's clock says 2026-11-20T15:00Z for every call recorded here.
    const ids = async (query: string): Promise<string[]> => {
      const res = await read(`/audit/AuditEvent?${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return events(res).map((e) => e.id ?? '');
    };
    const all = await ids('patient=it-seed-a');
    expect(all.length).toBeGreaterThan(0);
    expect(await ids('patient=Patient/it-seed-a&date=ge2026-11-01&date=lt2026-12-01')).toEqual(all);
    expect(await ids('patient=https://ehr.example/fhir/Patient/it-seed-a&date=2026-11-20')).toEqual(all);
    expect(await ids('patient=Patient/it-seed-a&date=2026-11-20T15:00Z')).toEqual(all);
    expect(await ids('patient=Patient/it-seed-a&date=gt2026-11-20')).toEqual([]);
    expect(await ids('patient=Patient/it-seed-a&date=lt2026-11-20')).toEqual([]);
    // With the log's own since: both hold.
    expect(await ids('patient=it-seed-a&date=ge2026-11-01&since=2026-11-21')).toEqual([]);
    // Paging keeps every date value.
    const first = await read('/audit/AuditEvent?date=ge2026-11-01&date=lt2026-12-01&_count=1');
    expect((first.body as unknown as Bundle).link?.find((l) => l.relation === 'next')?.url).toMatch(/\?date=ge2026-11-01&date=lt2026-12-01&_count=1&before=/);
    const refused = await read('/audit/AuditEvent?date=ne2026-11-20&patient=Group/g1');
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ expression: ['patient'] }, { expression: ['date'], details: { text: 'date prefix ne is not supported; use eq, gt, ge, lt, le, sa or eb' } }] });
  });
});

describe('GET /audit/reads/AuditEvent', () => {
  it('gives each read of the log as a valid R4 AuditEvent: who read, from where, what they asked, how it went', async () => {
    expect((await read('/audit/hook-invocations?patient=it-seed-a&_count=2')).status).toBe(200);
    expect((await read('/audit/hook-invocations', 'not-a-reader-token')).status).toBe(401);
    const res = await read('/audit/reads/AuditEvent?_count=3');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    expect((res.body as unknown as Bundle).link?.[0]).toEqual({ relation: 'self', url: `${BASE}/audit/reads/AuditEvent?_count=3` });
    // Newest first: this read is recorded after it is answered, so the two before it come first.
    const [refused, allowed] = events(res);
    for (const event of [refused, allowed]) expect(validateResource(event as AuditEvent)).toEqual([]);
    expect(allowed).toMatchObject({
      type: { code: 'rest' }, subtype: [{ code: 'search-type' }], action: 'E', outcome: '0',
      agent: [{ requestor: true, who: { display: 'compliance' }, network: { type: '2' } }, { requestor: false, who: { identifier: { value: `${BASE}/audit` } } }],
      entity: [{ role: { code: '24', display: 'Query' }, detail: [{ type: 'rows', valueString: '2' }] }],
    });
    expect(Buffer.from(allowed?.entity?.[0]?.query ?? '', 'base64').toString('utf8')).toBe('/audit/hook-invocations?patient=it-seed-a&_count=2');
    // FHIR's date too, and the log's own until: the reads of today, none before.
    const today = await read('/audit/reads/AuditEvent?date=2026-11-20&reader=compliance');
    expect(events(today).length).toBeGreaterThan(2);
    expect(events(await read('/audit/reads/AuditEvent?date=lt2026-11-20'))).toEqual([]);
    expect(((await read('/audit/reads?until=2026-11-20')).body['entries'] as StoredRead[])).toEqual([]);
    expect((await read('/audit/reads/AuditEvent?date=2026-11-20T15:00')).status).toBe(400);
    expect(refused?.outcome).toBe('4');
    expect(refused?.agent?.[0]?.who).toEqual({ display: 'no reader (no or an unknown token)' });
    // Only a reader reads them, and that read is recorded as well.
    expect((await read('/audit/reads/AuditEvent', null)).status).toBe(401);
    const reads = (await read('/audit/reads?reader=compliance')).body['entries'] as StoredRead[];
    expect(reads.map((r) => r.query)).toContain('/audit/reads/AuditEvent?_count=3');
  });
});
