/**
 * Degraded input and dependencies that still get an answer: an order broken in a way that changes its meaning is
 * named on a card, and data that could not be read is named on a card, instead of guidance passing silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, fixtureRequest, startFakeFhir, startService } from '../support/harness.js';
import type { FakeFhir, RunningService } from '../support/harness.js';

let svc: RunningService;
let failing: FakeFhir;
beforeAll(async () => {
  svc = await startService({ EMBEDDED_FHIR: 'false' }, { clock: () => new Date('2026-11-20T15:00:00Z') });
  failing = await startFakeFhir((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
});
afterAll(async () => {
  await svc.stop();
  await failing.stop();
});

type Card = { indicator: string; summary: string; detail: string };
const cards = (body: Record<string, unknown>) => body['cards'] as Card[];
const ORDER_SIGN = '/cds-services/intrathecal-order-sign';

describe('orders that cannot be evaluated', () => {
  it.each([
    ['names no medication', (o: Record<string, unknown>) => delete o['medicationCodeableConcept'], 'MedicationRequest/it-seed-a-draft-morphine could not be evaluated: it names no medication'],
    ['refers to a Medication that is not there', (o: Record<string, unknown>) => { delete o['medicationCodeableConcept']; o['medicationReference'] = { reference: '#gone' }; }, 'its medication #gone is not contained in the order'],
    ['has a quantity that is not a number', (o: Record<string, unknown>) => { (o['dispenseRequest'] as { quantity: { value: unknown } }).quantity.value = '480'; }, 'its dispense quantity is not a number'],
  ])('a MedicationRequest that %s gets a warning card saying so', async (_name, breakIt, text) => {
    const body = fixtureRequest('seed-a.order-sign.json');
    const order = (body.context['draftOrders'] as { entry: { resource: Record<string, unknown> }[] }).entry[0]?.resource ?? {};
    breakIt(order);
    const res = await call(svc, 'POST', ORDER_SIGN, body);
    expect(res.status).toBe(200);
    const card = cards(res.body).find((c) => `${c.summary} ${c.detail}`.includes(text));
    expect(card?.indicator).toBe('warning');
  });

  it('a ServiceRequest without a code is named too, and a complete order is not', async () => {
    const body = fixtureRequest('seed-a.order-sign.json');
    delete (body.context['draftOrders'] as { entry: { resource: Record<string, unknown> }[] }).entry[1]?.resource['code'];
    const res = await call(svc, 'POST', ORDER_SIGN, body);
    expect(cards(res.body).map((c) => c.summary)).toContain('ServiceRequest/it-seed-a-draft-s9328 could not be evaluated: it names no service (code)');
    const fine = await call(svc, 'POST', ORDER_SIGN, fixtureRequest('seed-a.order-sign.json'));
    expect(cards(fine.body).some((c) => c.summary.includes('could not be evaluated'))).toBe(false);
  });
});

describe('data that could not be read', () => {
  it('says guidance is incomplete when optional data fails, naming the data and why', async () => {
    const body = fixtureRequest('seed-a.order-sign.json');
    delete body.prefetch?.['observations'];
    delete body.prefetch?.['coverages'];
    const res = await call(svc, 'POST', ORDER_SIGN, { ...body, fhirServer: failing.url });
    expect(res.status).toBe(200);
    const card = cards(res.body).find((c) => c.summary.startsWith('Guidance is incomplete'));
    expect(card?.summary).toBe('Guidance is incomplete: observations, coverages could not be read');
    expect(card?.detail).toContain('FHIR server answered HTTP 503');
  });

  it('names only data that left a criterion not known: the administration record matters for a new start only', async () => {
    const incomplete = async (fixture: string): Promise<string | undefined> => {
      const body = fixtureRequest(fixture);
      delete body.prefetch?.['medicationAdministrations'];
      const res = await call(svc, 'POST', ORDER_SIGN, { ...body, fhirServer: failing.url });
      expect(res.status).toBe(200);
      return cards(res.body).find((c) => c.summary.startsWith('Guidance is incomplete'))?.summary;
    };
    // An established pump: no criterion evaluated reads the trial data, so its absence changes nothing.
    expect(await incomplete('seed-a.order-sign.json')).toBeUndefined();
    // A new start without a trial procedure: whether a trial bolus was given is not known.
    expect(await incomplete('seed-a-new-start-without-trial.order-sign.json')).toBe('Guidance is incomplete: medicationAdministrations could not be read');
  });

  it('does not name the PAS Claims, which only complete the prior authorizations: seed A is answered as with them', async () => {
    const full = await call(svc, 'POST', ORDER_SIGN, fixtureRequest('seed-a.order-sign.json'));
    const body = fixtureRequest('seed-a.order-sign.json');
    delete body.prefetch?.['claims'];
    const res = await call(svc, 'POST', ORDER_SIGN, { ...body, fhirServer: failing.url });
    expect(res.status).toBe(200);
    expect(cards(res.body).some((c) => c.summary.startsWith('Guidance is incomplete'))).toBe(false);
    expect(cards(res.body).map((c) => c.summary)).toEqual(cards(full.body).map((c) => c.summary));
    expect(cards(res.body).map((c) => c.summary)).toContain('Prior authorization ended 2026-11-17: request a renewal citing 6201931, 7192230');
  });

  it('gives no card at all when the orders are none of the pack\'s concern', async () => {
    const body = fixtureRequest('seed-a-unrelated-order.order-sign.json');
    delete body.prefetch?.['observations'];
    const res = await call(svc, 'POST', ORDER_SIGN, { ...body, fhirServer: failing.url });
    expect(res.body).toEqual({ cards: [] });
  });
});
