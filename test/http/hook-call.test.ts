import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, fixtureRequest, idsPerKey, recordingEvaluator, startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';

const recorder = recordingEvaluator();
let svc: RunningService;
beforeAll(async () => {
  svc = await startService({}, { evaluate: recorder.evaluate });
});
afterAll(() => svc.stop());

const ORDER_SIGN = '/cds-services/intrathecal-order-sign';

function withServer(body: Record<string, unknown>): Record<string, unknown> {
  return { ...body, fhirServer: `${svc.baseUrl}/fhir` };
}

describe('POST /cds-services/{id}: a full order-sign request', () => {
  it.each(['seed-a', 'seed-b'])('%s with prefetch: every declared key reaches the evaluation, no FHIR call needed', async (seed) => {
    const body = fixtureRequest(`${seed}.order-sign.json`);
    delete body['fhirServer'];
    const res = await call(svc, 'POST', ORDER_SIGN, body);
    expect(res.status).toBe(200);
    const input = recorder.inputs.at(-1);
    expect(input?.service.id).toBe('intrathecal-order-sign');
    expect(input?.data.unavailable).toEqual([]);
    expect(Object.keys(input?.data.resources ?? {}).sort()).toEqual(
      ['claimResponses', 'claims', 'conditions', 'coverages', 'devices', 'medicationAdministrations', 'medicationRequests', 'observations', 'patient', 'procedures'].sort()
    );
    expect(input?.request.context.draftOrders?.entry?.length).toBeGreaterThan(0);
  });

  it.each(['seed-a', 'seed-b'])('%s without prefetch: the data is read from the embedded FHIR server and equals the prefetch', async (seed) => {
    await call(svc, 'POST', ORDER_SIGN, fixtureRequest(`${seed}.order-sign.json`));
    const withPrefetch = idsPerKey(recorder.inputs.at(-1)!);
    const res = await call(svc, 'POST', ORDER_SIGN, withServer(fixtureRequest(`${seed}.order-sign.no-prefetch.json`)));
    expect(res.status).toBe(200);
    expect(idsPerKey(recorder.inputs.at(-1)!)).toEqual(withPrefetch);
    expect(withPrefetch['conditions']?.length).toBeGreaterThan(0);
  });

  it('answers with the wire rules applied: cards present, no empty values', async () => {
    const res = await call(svc, 'POST', ORDER_SIGN, fixtureRequest('seed-a.order-sign.json'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(Array.isArray(res.body['cards'])).toBe(true);
    expect(res.text).not.toContain('null');
  });

  it('accepts a draftOrders Bundle without type, unknown context fields and undeclared prefetch keys', async () => {
    const body = fixtureRequest('seed-a.order-sign.json');
    delete (body.context['draftOrders'] as Record<string, unknown>)['type'];
    body.context['somethingNew'] = { any: 'thing' };
    body.prefetch = { ...body.prefetch, notDeclared: 'garbage that would be refused if it were read', medicationRequestBundle: { resourceType: 'Bundle' } };
    const res = await call(svc, 'POST', ORDER_SIGN, body);
    expect(res.status).toBe(200);
    const input = recorder.inputs.at(-1);
    expect(input?.request.context.draftOrders?.type).toBe('collection');
    expect(Object.keys(input?.request.prefetch ?? {})).not.toContain('notDeclared');
    expect(Object.keys(input?.request.context ?? {})).not.toContain('somethingNew');
  });

  it('accepts an application/fhir+json body and one without Content-Type', async () => {
    const body = JSON.stringify(fixtureRequest('seed-a.order-sign.json'));
    expect((await call(svc, 'POST', ORDER_SIGN, body, { 'Content-Type': 'application/fhir+json; charset=utf-8' })).status).toBe(200);
    const res = await fetch(`${svc.baseUrl}${ORDER_SIGN}`, { method: 'POST', body: new Blob([body]) });
    expect(res.status).toBe(200);
  });

  it('serves order-select and patient-view through the same pipeline', async () => {
    const sign = fixtureRequest('seed-b.order-sign.json');
    const select = {
      ...sign,
      hook: 'order-select',
      context: { ...sign.context, selections: ['MedicationRequest/it-seed-b-draft-mix'] },
    };
    const res = await call(svc, 'POST', '/cds-services/intrathecal-order-select', select);
    expect(res.status).toBe(200);
    expect(recorder.inputs.at(-1)?.request.context.selections).toEqual(['MedicationRequest/it-seed-b-draft-mix']);
    expect(Object.keys(recorder.inputs.at(-1)?.data.resources ?? {}).sort()).toEqual(['conditions', 'coverages', 'devices', 'patient']);

    const view = { hook: 'patient-view', hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea', fhirServer: `${svc.baseUrl}/fhir`, context: { userId: 'Practitioner/it-prac-1', patientId: 'it-seed-a' } };
    const viewRes = await call(svc, 'POST', '/cds-services/intrathecal-patient-view', view);
    expect(viewRes.status).toBe(200);
    expect(idsPerKey(recorder.inputs.at(-1)!)['patient']).toEqual(['Patient/it-seed-a']);
  });
});
