/**
 * appointment-book (a CRD primary hook): booking a pump refill and maintenance visit (CPT 95990/95991) for seed A's
 * established pump answers with the coverage-information system action on the Appointment and the coverage cards;
 * a visit for anything else is not the pack's. A visit may also be booked for its order (CRD "Appointment with
 * Order"): the ServiceRequest it is based on, read from the EHR's FHIR server when not sent.
 */
import type { Appointment, Extension, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, coverageAnnotation, createOnEhr, fixtureRequest, startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';

const APPOINTMENT_BOOK = '/cds-services/intrathecal-appointment-book';

let svc: RunningService;
beforeAll(async () => {
  // The embedded FHIR server plays the EHR that holds the orders visits are booked for.
  svc = await startService({}, { clock: () => new Date('2026-11-20T15:00:00Z') });
});
afterAll(() => svc.stop());

function visit(code: string, patient = 'Patient/it-seed-a'): Appointment {
  return {
    resourceType: 'Appointment',
    id: `visit-${code}`,
    status: 'proposed',
    serviceType: [{ coding: [{ system: 'http://www.ama-assn.org/go/cpt', code }], text: code === '99213' ? 'Office visit' : 'Intrathecal pump refill and maintenance' }],
    start: '2026-12-01T09:00:00Z',
    participant: [{ actor: { reference: patient }, status: 'accepted' }, { actor: { reference: 'Practitioner/it-prac-1' }, status: 'needs-action' }],
  };
}

/** Seed A's record as prefetched for order-sign, with Appointments booked instead of orders signed. */
function booking(appointments: unknown): Record<string, unknown> {
  const { prefetch } = fixtureRequest('seed-a.order-sign.json');
  return {
    hook: 'appointment-book',
    hookInstance: '0b7e4d2a-5c1f-4e3b-9a8d-7f6e5d4c3b2a',
    context: { userId: 'PractitionerRole/it-scheduler', patientId: 'it-seed-a', appointments },
    prefetch,
  };
}

const bundle = (...resources: Resource[]) => ({ resourceType: 'Bundle', type: 'collection', entry: resources.map((resource) => ({ resource })) });

interface Card {
  readonly summary: string;
  readonly detail: string;
  readonly links?: { type: string; appContext?: string }[];
}

/** The SMART app link's appContext, as parameters. */
const appContext = (card: Card | undefined) => Object.fromEntries(new URLSearchParams(card?.links?.find((l) => l.type === 'smart')?.appContext));

interface Action {
  readonly type: string;
  readonly resource: Resource & { extension?: Extension[] };
}

describe('POST /cds-services/intrathecal-appointment-book', () => {
  it('is offered in discovery', async () => {
    const services = (await call(svc, 'GET', '/cds-services')).body['services'] as { id: string; hook: string }[];
    expect(services.find((s) => s.id === 'intrathecal-appointment-book')?.hook).toBe('appointment-book');
  });

  it("annotates a refill visit for the established pump with its coverage, and says why in a card naming the visit", async () => {
    const res = await call(svc, 'POST', APPOINTMENT_BOOK, booking(bundle(visit('95991'))));
    expect(res.status).toBe(200);
    const actions = res.body['systemActions'] as Action[];
    expect(actions.map((a) => [a.type, `${a.resource.resourceType}/${a.resource.id ?? ''}`])).toEqual([['update', 'Appointment/visit-95991']]);
    expect(coverageAnnotation(actions[0]?.resource)).toMatchObject({ covered: 'covered', 'pa-needed': 'conditional', billingCode: '95991' });
    const card = (res.body['cards'] as Card[]).find((c) => c.summary.startsWith('Pump supplies and refill services follow the established pump'));
    expect(card?.detail).toContain('Appointment/visit-95991 (95991 Intrathecal pump refill and maintenance, proposed, 2026-12-01)');
    // The app opens on the patient's orders: a visit booked for no order names none, and is not in the EHR yet.
    expect(appContext(card)).toEqual({ service: 'intrathecal-appointment-book' });
  });

  it('says nothing about a visit that is not for the pump', async () => {
    const res = await call(svc, 'POST', APPOINTMENT_BOOK, booking(bundle(visit('99213'))));
    expect(res.status).toBe(200);
    expect(res.body['cards']).toEqual([]);
    expect(res.body['systemActions']).toBeUndefined();
  });

  it.each([
    ['no appointments', undefined, 'context.appointments'],
    ['appointments that are not a Bundle', [visit('95991')], 'context.appointments'],
    ['an entry without a resource', { resourceType: 'Bundle', entry: [{ fullUrl: 'urn:uuid:1' }] }, 'context.appointments.entry[0].resource'],
    ["another patient's visit", bundle(visit('95991', 'Patient/it-seed-b')), 'context.appointments.entry[0].resource'],
  ])('refuses %s with 400 saying where', async (_name, appointments, expression) => {
    const res = await call(svc, 'POST', APPOINTMENT_BOOK, booking(appointments));
    expect(res.status).toBe(400);
    expect((res.body['issue'] as { expression?: string[] }[]).map((i) => i.expression?.[0])).toEqual([expression]);
  });

  describe('an Appointment with Order (its service in the ServiceRequest it is based on)', () => {
    /** A refill visit with no serviceType, based on an order by reference. */
    const withOrder = (reference: string): Appointment => {
      const booked: Appointment = { ...visit('95991'), id: 'visit-with-order', basedOn: [{ reference }] };
      delete booked.serviceType;
      return booked;
    };
    const refillOrder = (patient = 'Patient/it-seed-a') => ({
      resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: patient }, authoredOn: '2026-11-18',
      code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '95990' }], text: 'Pump refill and maintenance' },
    });

    it('reads the order from the fhirServer, judges the visit by it, annotates the Appointment as sent, and names the order to the app', async () => {
      const id = await createOnEhr(svc, refillOrder());
      const sent = withOrder(`ServiceRequest/${id}`);
      const res = await call(svc, 'POST', APPOINTMENT_BOOK, { ...booking(bundle(sent)), fhirServer: `${svc.baseUrl}/fhir` });
      expect(res.status).toBe(200);
      const [action] = res.body['systemActions'] as Action[];
      expect(coverageAnnotation(action?.resource)).toMatchObject({ covered: 'covered', billingCode: '95990' });
      // The Appointment as the client sent it, not the copy the rules read (with the order contained).
      expect({ ...action?.resource, extension: undefined }).toEqual({ ...sent, extension: undefined });
      const card = (res.body['cards'] as Card[]).find((c) => c.summary.startsWith('Pump supplies and refill services follow the established pump'));
      expect(card?.detail).toContain('Appointment/visit-with-order (95990 Pump refill and maintenance, proposed, 2026-12-01)');
      // The app reads the visit's order from the EHR: the Appointment being booked is not there yet.
      expect(appContext(card)).toEqual({ service: 'intrathecal-appointment-book', orders: `ServiceRequest/${id}` });
    });

    it('takes an order sent beside the visit in the Bundle without reading it (no fhirServer), and does not judge it apart', async () => {
      const res = await call(svc, 'POST', APPOINTMENT_BOOK, booking(bundle(withOrder('ServiceRequest/refill-order'), { ...refillOrder(), id: 'refill-order' } as Resource)));
      expect(res.status).toBe(200);
      expect((res.body['systemActions'] as Action[]).map((a) => `${a.resource.resourceType}/${a.resource.id ?? ''}`)).toEqual(['Appointment/visit-with-order']);
      // An order sent beside the visit may not be in the EHR either: the app is not sent to read it.
      const contexts = (res.body['cards'] as Card[]).filter((c) => c.links?.some((l) => l.type === 'smart')).map(appContext);
      expect(contexts.length).toBeGreaterThan(0);
      expect(contexts).toEqual(contexts.map(() => ({ service: 'intrathecal-appointment-book' })));
    });

    it.each([
      ['an order the fhirServer does not have', true, 'the fhirServer has no such order'],
      ['an order not sent, with no fhirServer to read it from', false, 'is needed: not contained in the Appointment, beside it in the Bundle or in a prefetch key, and the request names no fhirServer'],
    ])('refuses %s with 412, naming the basedOn', async (_name, withServer, text) => {
      const body = booking(bundle(visit('99213'), withOrder('ServiceRequest/it-no-such-refill-order')));
      const res = await call(svc, 'POST', APPOINTMENT_BOOK, withServer ? { ...body, fhirServer: `${svc.baseUrl}/fhir` } : body);
      expect(res.status).toBe(412);
      const issues = res.body['issue'] as { expression?: string[]; details: { text: string } }[];
      expect(issues.map((i) => i.expression?.[0])).toEqual(['context.appointments.entry[1].resource.basedOn[0]']);
      expect(issues[0]?.details.text).toContain(text);
    });

    it("refuses a visit based on another patient's order", async () => {
      const id = await createOnEhr(svc, refillOrder('Patient/it-seed-b'));
      const res = await call(svc, 'POST', APPOINTMENT_BOOK, { ...booking(bundle(withOrder(`ServiceRequest/${id}`))), fhirServer: `${svc.baseUrl}/fhir` });
      expect(res.status).toBe(400);
      expect((res.body['issue'] as { expression?: string[] }[]).map((i) => i.expression?.[0])).toEqual(['context.appointments.entry[0].resource.basedOn[0]']);
    });
  });
});
