import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, fixtureRequest, startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';

let svc: RunningService;
beforeAll(async () => {
  svc = await startService({ EMBEDDED_FHIR: 'false', MAX_BODY_BYTES: '65536' });
});
afterAll(() => svc.stop());

const ORDER_SIGN = '/cds-services/intrathecal-order-sign';
type Issue = { code: string; expression?: string[]; details: { text: string } };
const expressions = (body: Record<string, unknown>) => (body['issue'] as Issue[]).map((i) => i.expression?.[0]);

/** The subject of the request's i-th draft order, to change in place. */
function subjectOf(body: ReturnType<typeof fixtureRequest>, i: number): { reference: string } {
  return (body.context['draftOrders'] as { entry: { resource: { subject: { reference: string } } }[] }).entry[i]!.resource.subject;
}

function seedA(): ReturnType<typeof fixtureRequest> {
  const body = fixtureRequest('seed-a.order-sign.json');
  delete body['fhirServer'];
  return body;
}

describe('bad requests get a clear OperationOutcome, never a 500', () => {
  it('404 for an unknown service, on the hook and on feedback', async () => {
    expect((await call(svc, 'POST', '/cds-services/no-such-service', seedA())).status).toBe(404);
    expect((await call(svc, 'POST', '/cds-services/no-such-service/feedback', { feedback: [] })).status).toBe(404);
  });

  it('400 for malformed JSON, without echoing the body', async () => {
    const res = await call(svc, 'POST', ORDER_SIGN, '{"hook": "order-sign", "context": {"patientId": "SECRET-MRN-1"');
    expect(res.status).toBe(400);
    expect(res.text).not.toContain('SECRET-MRN-1');
    expect(res.text).toContain('not valid JSON');
  });

  it.each([['an array', []], ['a string', 'order-sign'], ['a number', 42], ['null', null]])('400 for a body that is %s', async (_n, body) => {
    const res = await call(svc, 'POST', ORDER_SIGN, JSON.stringify(body));
    expect(res.status).toBe(400);
  });

  it('400 naming the hook when it does not match the service', async () => {
    const res = await call(svc, 'POST', ORDER_SIGN, { ...seedA(), hook: 'patient-view' });
    expect(res.status).toBe(400);
    expect(expressions(res.body)).toEqual(['hook']);
  });

  it.each([
    ['hookInstance', (b: ReturnType<typeof fixtureRequest>) => delete b['hookInstance'], 'hookInstance'],
    ['context', (b: ReturnType<typeof fixtureRequest>) => delete (b as Record<string, unknown>)['context'], 'context'],
    ['context.userId', (b: ReturnType<typeof fixtureRequest>) => delete b.context['userId'], 'context.userId'],
    ['context.patientId', (b: ReturnType<typeof fixtureRequest>) => (b.context['patientId'] = ''), 'context.patientId'],
    ['context.draftOrders', (b: ReturnType<typeof fixtureRequest>) => delete b.context['draftOrders'], 'context.draftOrders'],
    ['a draftOrders that is not a Bundle', (b: ReturnType<typeof fixtureRequest>) => (b.context['draftOrders'] = { resourceType: 'List' }), 'context.draftOrders'],
    ['a draft order entry without a resource', (b: ReturnType<typeof fixtureRequest>) => (b.context['draftOrders'] = { resourceType: 'Bundle', entry: [{ fullUrl: 'x' }] }), 'context.draftOrders.entry[0].resource'],
    ['a draft order for another patient', (b: ReturnType<typeof fixtureRequest>) => (subjectOf(b, 1).reference = 'https://ehr.example/fhir/Patient/it-seed-b'), 'context.draftOrders.entry[1].resource'],
    ['a draft order for another patient, by a versioned reference', (b: ReturnType<typeof fixtureRequest>) => (subjectOf(b, 0).reference = 'Patient/it-seed-b/_history/3'), 'context.draftOrders.entry[0].resource'],
    ['a fhirServer that is not a URL', (b: ReturnType<typeof fixtureRequest>) => (b['fhirServer'] = 'file:///etc/passwd'), 'fhirServer'],
    ['fhirAuthorization without fhirServer', (b: ReturnType<typeof fixtureRequest>) => (b['fhirAuthorization'] = { access_token: 'x' }), 'fhirAuthorization'],
    ['a prefetch of the wrong resource type', (b: ReturnType<typeof fixtureRequest>) => (b.prefetch!['patient'] = { resourceType: 'Condition', id: 'x' }), 'prefetch.patient'],
    ['a search prefetch that is not a Bundle', (b: ReturnType<typeof fixtureRequest>) => (b.prefetch!['conditions'] = { resourceType: 'Condition', id: 'x' }), 'prefetch.conditions'],
    ['a Bundle holding another type', (b: ReturnType<typeof fixtureRequest>) => (b.prefetch!['devices'] = { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: { resourceType: 'Patient', id: 'x' } }] }), 'prefetch.devices.entry[0].resource'],
    ['a prefetch value that is a string', (b: ReturnType<typeof fixtureRequest>) => (b.prefetch!['patient'] = 'Patient/1'), 'prefetch.patient'],
  ])('400 naming the place when %s is wrong or missing', async (_name, mutate, expression) => {
    const body = seedA();
    mutate(body);
    const res = await call(svc, 'POST', ORDER_SIGN, body);
    expect(res.status).toBe(400);
    expect(expressions(res.body)).toContain(expression);
  });

  it("accepts a draft order whose subject names the patient absolutely, or in a form that names no patient's id", async () => {
    for (const reference of ['https://ehr.example/fhir/Patient/it-seed-a', 'Patient/it-seed-a/_history/2', 'urn:uuid:5b0c0a51-6c1c-4b8e-9d0c-3f0b1a2c4d5e']) {
      const body = seedA();
      subjectOf(body, 0).reference = reference;
      expect((await call(svc, 'POST', ORDER_SIGN, body)).status).toBe(200);
    }
  });

  it('400 listing every problem of a request at once', async () => {
    const res = await call(svc, 'POST', ORDER_SIGN, { hook: 'order-sign', context: { userId: 7 } });
    expect(res.status).toBe(400);
    expect(expressions(res.body)).toEqual(['hookInstance', 'context.userId', 'context.patientId', 'context.draftOrders']);
  });

  it('400 when an order-select selection is missing or names no draft order', async () => {
    const body = { ...seedA(), hook: 'order-select' };
    expect(expressions((await call(svc, 'POST', '/cds-services/intrathecal-order-select', body)).body)).toEqual(['context.selections']);
    body.context = { ...body.context, selections: ['MedicationRequest/not-in-the-bundle'] };
    const res = await call(svc, 'POST', '/cds-services/intrathecal-order-select', body);
    expect(res.status).toBe(400);
    expect(expressions(res.body)).toEqual(['context.selections[0]']);
  });

  it('415 for a body declared as something other than JSON', async () => {
    const res = await call(svc, 'POST', ORDER_SIGN, 'hook=order-sign', { 'Content-Type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
    expect((await call(svc, 'POST', ORDER_SIGN, JSON.stringify(seedA()), { 'Content-Type': 'text/plain' })).status).toBe(415);
  });

  it('413 for a body over the configured limit', async () => {
    const body = { ...seedA(), padding: 'x'.repeat(70_000) };
    const res = await call(svc, 'POST', ORDER_SIGN, body);
    expect(res.status).toBe(413);
    expect(res.text).toContain('65536');
  });

  it('answers a fault inside the evaluation with a generic 500 OperationOutcome and no stack trace', async () => {
    // A test double for a fault that correct code cannot produce: the evaluator throws.
    const faulty = await startService({ EMBEDDED_FHIR: 'false' }, {
      evaluate: () => {
        throw new Error('boom at /work/main/src/secret.ts:12');
      },
    });
    try {
      const res = await call(faulty, 'POST', ORDER_SIGN, seedA());
      expect(res.status).toBe(500);
      expect(res.text).not.toContain('boom');
      expect(res.text).not.toContain('.ts');
    } finally {
      await faulty.stop();
    }
  });
});
