/**
 * order-dispatch (a CRD primary hook): an existing order sent to a performer (a compounding pharmacy, a home
 * infusion provider) is named by reference; the service takes it from the prefetch or reads it from the fhirServer,
 * here the embedded Medplum server holding seed A, and answers with the coverage-information system action CRD
 * requires on every such call, and the coverage cards.
 */
import type { Extension, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ORDER_READS } from '../../src/hooks/orders-by-reference.js';
import { call, coverageAnnotation, fixtureRequest, startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';

const ORDER_DISPATCH = '/cds-services/intrathecal-order-dispatch';
const DRUG = 'MedicationRequest/it-seed-a-draft-morphine';
const PER_DIEM = 'ServiceRequest/it-seed-a-draft-s9328';

let svc: RunningService;
beforeAll(async () => {
  svc = await startService({}, { clock: () => new Date('2026-11-20T15:00:00Z') });
});
afterAll(() => svc.stop());

/** Seed A's record as prefetched for order-sign, its two orders dispatched by reference instead of sent. */
function dispatch(context: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const { prefetch } = fixtureRequest('seed-a.order-sign.json');
  return {
    hook: 'order-dispatch',
    hookInstance: 'f5a2b6c0-1d3e-4f5a-8b9c-0d1e2f3a4b5c',
    fhirServer: `${svc.baseUrl}/fhir`,
    context: { patientId: 'it-seed-a', dispatchedOrders: [DRUG, PER_DIEM], performer: 'Organization/it-home-infusion-pharmacy', ...context },
    prefetch,
    ...extra,
  };
}

interface Action {
  readonly type: string;
  readonly resource: Resource & { extension?: Extension[] };
}

const coverageOf = (action: Action | undefined): Record<string, string | undefined> => coverageAnnotation(action?.resource);

describe('POST /cds-services/intrathecal-order-dispatch', () => {
  it('is offered in discovery, with no user token in its prefetch (the hook has no userId)', async () => {
    const services = (await call(svc, 'GET', '/cds-services')).body['services'] as { id: string; hook: string; prefetch?: Record<string, string> }[];
    const service = services.find((s) => s.id === 'intrathecal-order-dispatch');
    expect(service?.hook).toBe('order-dispatch');
    expect(Object.values(service?.prefetch ?? {}).join(' ')).not.toContain('userId');
  });

  it('reads the orders it is not sent from the fhirServer and annotates each with coverage information', async () => {
    const res = await call(svc, 'POST', ORDER_DISPATCH, dispatch());
    expect(res.status).toBe(200);
    const actions = res.body['systemActions'] as Action[];
    expect(actions.map((a) => [a.type, `${a.resource.resourceType}/${a.resource.id ?? ''}`])).toEqual([
      ['update', DRUG],
      ['update', PER_DIEM],
    ]);
    // The order as the EHR holds it (read from the server), with the annotation added.
    expect(actions[0]?.resource).toMatchObject({ status: 'draft', subject: { reference: 'Patient/it-seed-a' } });
    expect(coverageOf(actions[0])).toMatchObject({ covered: 'covered', 'pa-needed': 'conditional' });
    expect(coverageOf(actions[1])).toMatchObject({ covered: 'covered', 'pa-needed': 'conditional' });
    const summaries = (res.body['cards'] as { summary: string }[]).map((c) => c.summary);
    expect(summaries).toContain('Pump refill drug follows the established pump: medically necessary as part of using the implanted pump');
  });

  it('takes an order a prefetch key holds without reading it (no fhirServer to read from)', async () => {
    const body = dispatch({ dispatchedOrders: [DRUG] });
    delete body['fhirServer'];
    // The refill drug, active once signed, as an EHR's medicationRequests prefetch returns it.
    const order = (fixtureRequest('seed-a.order-sign.json').context['draftOrders'] as { entry: { resource: Resource }[] }).entry[0]?.resource;
    const prefetch = body['prefetch'] as Record<string, { entry: { resource: Resource }[] }>;
    prefetch['medicationRequests']?.entry.push({ resource: { ...(order as Resource), status: 'active' } as Resource });
    const res = await call(svc, 'POST', ORDER_DISPATCH, body);
    expect(res.status).toBe(200);
    const actions = res.body['systemActions'] as Action[];
    expect(actions.map((a) => `${a.resource.resourceType}/${a.resource.id ?? ''}`)).toEqual([DRUG]);
    expect(actions[0]?.resource).toMatchObject({ status: 'active' });
    expect(coverageOf(actions[0])).toMatchObject({ covered: 'covered' });
  });

  it('judges an order named twice once', async () => {
    const res = await call(svc, 'POST', ORDER_DISPATCH, dispatch({ dispatchedOrders: [DRUG, PER_DIEM, DRUG] }));
    expect(res.status).toBe(200);
    expect((res.body['systemActions'] as Action[]).map((a) => `${a.resource.resourceType}/${a.resource.id ?? ''}`)).toEqual([DRUG, PER_DIEM]);
  });

  it('accepts fulfilment Tasks and a userId it does not need', async () => {
    const task = { resourceType: 'Task', status: 'requested', intent: 'order', focus: { reference: DRUG } };
    const res = await call(svc, 'POST', ORDER_DISPATCH, dispatch({ fulfillmentTasks: [task], userId: 'Practitioner/it-prac-1' }));
    expect(res.status).toBe(200);
  });

  it.each([
    ['no dispatchedOrders', { dispatchedOrders: undefined }, 400, 'context.dispatchedOrders'],
    ['an empty dispatchedOrders', { dispatchedOrders: [] }, 400, 'context.dispatchedOrders'],
    ['a reference to something that is not an order', { dispatchedOrders: [DRUG, 'Patient/it-seed-a'] }, 400, 'context.dispatchedOrders[1]'],
    ['no performer', { performer: undefined }, 400, 'context.performer'],
    ['a performer that is not a reference', { performer: 'the pharmacy on Main Street' }, 400, 'context.performer'],
    ['fulfilment Tasks that are not Tasks', { fulfillmentTasks: [{ resourceType: 'Patient' }] }, 400, 'context.fulfillmentTasks'],
    ['an order the fhirServer does not have', { dispatchedOrders: [DRUG, 'ServiceRequest/it-no-such-order'] }, 412, 'context.dispatchedOrders[1]'],
    ['an order the fhirServer does not have, after one named twice', { dispatchedOrders: [DRUG, DRUG, 'ServiceRequest/it-no-such-order'] }, 412, 'context.dispatchedOrders[2]'],
    // Seed B's refill, on the same server: judged against seed A's record, it would be annotated with A's coverage.
    ['an order of another patient', { dispatchedOrders: [DRUG, 'MedicationRequest/it-seed-b-draft-mix'] }, 400, 'context.dispatchedOrders[1]'],
  ])('refuses %s, saying where', async (_name, context, status, expression) => {
    const res = await call(svc, 'POST', ORDER_DISPATCH, dispatch(context));
    expect(res.status).toBe(status);
    expect(res.body['resourceType']).toBe('OperationOutcome');
    const issues = res.body['issue'] as { expression?: string[]; details: { text: string } }[];
    expect(issues.map((i) => i.expression?.[0])).toEqual([expression]);
  });

  it(`reads at most ${MAX_ORDER_READS} dispatched orders per call, and over that reads none and names the rest`, async () => {
    // Orders the server does not have: had any been read, each would be named as missing from the server.
    const unknown = Array.from({ length: MAX_ORDER_READS + 2 }, (_, i) => `ServiceRequest/it-no-such-order-${String(i)}`);
    const body = dispatch({ dispatchedOrders: [DRUG, ...unknown] });
    // The refill drug, active once signed, held by the medicationRequests prefetch: not read, so not counted.
    const order = (fixtureRequest('seed-a.order-sign.json').context['draftOrders'] as { entry: { resource: Resource }[] }).entry[0]?.resource;
    (body['prefetch'] as Record<string, { entry: { resource: Resource }[] }>)['medicationRequests']?.entry.push({ resource: { ...(order as Resource), status: 'active' } as Resource });
    const res = await call(svc, 'POST', ORDER_DISPATCH, body);
    expect(res.status).toBe(412);
    const issues = res.body['issue'] as { code: string; expression?: string[]; details: { text: string } }[];
    // Of the unknown ones, the 26th and 27th (places 26 and 27 after the drug) are over the cap.
    expect(issues.map((i) => [i.code, i.expression?.[0]])).toEqual([
      ['too-costly', `context.dispatchedOrders[${String(MAX_ORDER_READS + 1)}]`],
      ['too-costly', `context.dispatchedOrders[${String(MAX_ORDER_READS + 2)}]`],
    ]);
    expect(issues[0]?.details.text).toContain(`at most ${String(MAX_ORDER_READS)} dispatched orders per call`);
    // At the cap, every order is read (and these are missing from the server, each named).
    const atCap = await call(svc, 'POST', ORDER_DISPATCH, dispatch({ dispatchedOrders: unknown.slice(0, MAX_ORDER_READS) }));
    expect(atCap.status).toBe(412);
    expect((atCap.body['issue'] as { details: { text: string } }[]).map((i) => i.details.text.split(': ')[1])).toEqual(Array(MAX_ORDER_READS).fill('the fhirServer has no such order'));
  });

  it('says why an order could not be had when it is not prefetched and there is no fhirServer', async () => {
    const body = dispatch();
    delete body['fhirServer'];
    const res = await call(svc, 'POST', ORDER_DISPATCH, body);
    expect(res.status).toBe(412);
    const texts = (res.body['issue'] as { details: { text: string } }[]).map((i) => i.details.text);
    expect(texts).toEqual([`${DRUG} is needed: no prefetch key holds it, and the request names no fhirServer`, `${PER_DIEM} is needed: no prefetch key holds it, and the request names no fhirServer`]);
  });
});
