/**
 * Drugs sent as a reference to a Medication resource (`medicationReference: { reference: 'Medication/123' }`), as
 * EHRs send prescriptions: the service reads the Medication from the embedded FHIR server (a real Medplum server) or
 * takes it from a prefetch Bundle that includes it, and judges the order and the record by it; when it cannot, the
 * card says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MEDICATION_READS } from '../../src/hooks/assemble-data.js';
import { call, createOnEhr, fixtureRequest, startFakeFhir, startService } from '../support/harness.js';
import type { FakeFhir, RunningService } from '../support/harness.js';

type Card = { indicator: string; summary: string; detail: string };
type Body = ReturnType<typeof fixtureRequest>;
type Entry = { resource: Record<string, unknown>; search?: { mode: string } };

const ORDER_SIGN = '/cds-services/intrathecal-order-sign';
const REFERENCED = 'seed-b-referenced-medication.order-sign.json';
const cards = (body: Record<string, unknown>) => body['cards'] as Card[];
/** What a card says, without its uuid. */
const said = (body: Record<string, unknown>) => cards(body).map((c) => ({ indicator: c.indicator, summary: c.summary, detail: c.detail }));
const coverageActions = (body: Record<string, unknown>) => JSON.stringify((body['systemActions'] as { resource: { extension: unknown } }[] | undefined)?.map((a) => a.resource.extension)).replace(/"[0-9a-f-]{36}"/g, '"uuid"');

let svc: RunningService;
beforeAll(async () => {
  svc = await startService({}, { clock: () => new Date('2026-11-20T15:00:00Z') });
});
afterAll(() => svc.stop());

/** The seed B request with its compounded Medication taken out of draftOrders; the order references `reference`. */
function withoutSentMedication(reference: string): { body: Body; medication: Record<string, unknown> } {
  const body = fixtureRequest(REFERENCED);
  delete body['fhirServer'];
  const entries = (body.context['draftOrders'] as { entry: Entry[] }).entry;
  const medication = entries.find((e) => e.resource['resourceType'] === 'Medication')?.resource as Record<string, unknown>;
  const order = entries.find((e) => e.resource['resourceType'] === 'MedicationRequest')?.resource as Record<string, unknown>;
  order['medicationReference'] = { ...(order['medicationReference'] as object), reference };
  (body.context['draftOrders'] as { entry: Entry[] }).entry = entries.filter((e) => e.resource !== medication);
  return { body, medication };
}

describe('a draft order whose drug is a Medication on the EHR', () => {
  it('reads the Medication from the fhirServer and answers as if the client had sent it', async () => {
    const sent = fixtureRequest(REFERENCED);
    delete sent['fhirServer'];
    const expected = await call(svc, 'POST', ORDER_SIGN, sent);
    expect(expected.status).toBe(200);
    const id = await createOnEhr(svc, withoutSentMedication('Medication/x').medication);
    const { body } = withoutSentMedication(`Medication/${id}`);
    const res = await call(svc, 'POST', ORDER_SIGN, { ...body, fhirServer: `${svc.baseUrl}/fhir` });
    expect(res.status).toBe(200);
    expect(said(res.body)).toEqual(said(expected.body));
    expect(coverageActions(res.body)).toEqual(coverageActions(expected.body));
    // The compounded mix's own card proves the Medication's codes were read (J7999 is only in the Medication).
    expect(cards(res.body).some((c) => c.summary.includes('could not be evaluated'))).toBe(false);
    expect(cards(res.body).length).toBeGreaterThan(1);
    // The coverage-information action echoes the order as sent: the reference is not rewritten.
    const echoed = (res.body['systemActions'] as { resource: Record<string, unknown> }[])[0]?.resource;
    expect(echoed?.['medicationReference']).toMatchObject({ reference: `Medication/${id}` });
    expect(echoed?.['contained']).toBeUndefined();
  });

  it.each([
    ['a versioned', (id: string) => `Medication/${id}/_history/1`],
    ['an absolute (on the fhirServer)', (id: string) => `${svc.baseUrl}/fhir/Medication/${id}`],
  ])('reads and judges it by a %s reference too, and echoes the reference as sent', async (_name, reference) => {
    const sent = fixtureRequest(REFERENCED);
    delete sent['fhirServer'];
    const expected = await call(svc, 'POST', ORDER_SIGN, sent);
    const id = await createOnEhr(svc, withoutSentMedication('Medication/x').medication);
    const { body } = withoutSentMedication(reference(id));
    const res = await call(svc, 'POST', ORDER_SIGN, { ...body, fhirServer: `${svc.baseUrl}/fhir` });
    expect(res.status).toBe(200);
    expect(said(res.body)).toEqual(said(expected.body));
    expect(coverageActions(res.body)).toEqual(coverageActions(expected.body));
    const echoed = (res.body['systemActions'] as { resource: Record<string, unknown> }[])[0]?.resource;
    expect(echoed?.['medicationReference']).toMatchObject({ reference: reference(id) });
  });

  it("resolves a reference to a draftOrders entry's fullUrl, as references in a Bundle resolve", async () => {
    const sent = fixtureRequest(REFERENCED);
    delete sent['fhirServer'];
    const expected = await call(svc, 'POST', ORDER_SIGN, sent);
    const { body, medication } = withoutSentMedication('urn:uuid:9d0f5c2e-6a53-4d8e-9a43-5f1c7e2b8a10');
    (body.context['draftOrders'] as { entry: (Entry & { fullUrl?: string })[] }).entry.push({ fullUrl: 'urn:uuid:9d0f5c2e-6a53-4d8e-9a43-5f1c7e2b8a10', resource: medication });
    const res = await call(svc, 'POST', ORDER_SIGN, body);
    expect(res.status).toBe(200);
    expect(said(res.body)).toEqual(said(expected.body));
  });

  it('names an order whose Medication is on another server, which the service does not read', async () => {
    const { body } = withoutSentMedication('https://elsewhere.example/fhir/Medication/it-seed-b-mix-med');
    const res = await call(svc, 'POST', ORDER_SIGN, { ...body, fhirServer: `${svc.baseUrl}/fhir` });
    expect(res.status).toBe(200);
    const card = cards(res.body).find((c) => c.summary.includes('could not be evaluated'));
    expect(card?.detail).toContain('its medication https://elsewhere.example/fhir/Medication/it-seed-b-mix-med is neither contained nor sent with the draft orders, and could not be read (it is not a Medication on the fhirServer');
    // The card names the order it is about, as the rules' cards do (CRD associated resource).
    expect((card as { extension?: Record<string, unknown> } | undefined)?.extension).toEqual({ 'davinci-crd.associated-resource': [{ reference: 'MedicationRequest/it-seed-b-draft-mix' }] });
  });

  it('takes the Medication from a prefetch Bundle that includes it, without any read', async () => {
    const sent = fixtureRequest(REFERENCED);
    delete sent['fhirServer'];
    const expected = await call(svc, 'POST', ORDER_SIGN, sent);
    const { body, medication } = withoutSentMedication('Medication/it-seed-b-mix-med');
    const bundle = body.prefetch?.['medicationRequests'] as { entry?: Entry[] };
    bundle.entry = [...(bundle.entry ?? []), { resource: medication, search: { mode: 'include' } }];
    const res = await call(svc, 'POST', ORDER_SIGN, body);
    expect(res.status).toBe(200);
    expect(said(res.body)).toEqual(said(expected.body));
  });

  it.each([
    ['an absolute URL without a fhirServer', 'https://elsewhere.example/fhir/Medication/it-seed-b-mix-med', 'it is an absolute URL, and the request names no fhirServer'],
    ['a urn:uuid that no draft order entry has as its fullUrl', 'urn:uuid:0b7c1d1e-5b55-4a3c-9f6e-2f8a7c9d1e00', 'no entry of the draft orders has it as its fullUrl'],
    ['a reference to another resource type', 'Substance/it-morphine', 'it is not a reference of the form Medication/<id>'],
  ])('says why %s cannot be read', async (_name, reference, why) => {
    const { body } = withoutSentMedication(reference);
    const res = await call(svc, 'POST', ORDER_SIGN, body);
    expect(res.status).toBe(200);
    const card = cards(res.body).find((c) => c.summary.includes('could not be evaluated'));
    expect(card?.detail).toContain(`its medication ${reference} is neither contained nor sent with the draft orders, and could not be read (${why})`);
  });

  it.each([
    ['without a fhirServer', false, 'not sent, and the request names no fhirServer'],
    ['when the fhirServer has no such Medication', true, 'the fhirServer has no such Medication'],
  ])('names the order it cannot judge, and why, %s', async (_name, withServer, why) => {
    const { body } = withoutSentMedication('Medication/not-on-the-ehr');
    const res = await call(svc, 'POST', ORDER_SIGN, { ...body, ...(withServer ? { fhirServer: `${svc.baseUrl}/fhir` } : {}) });
    expect(res.status).toBe(200);
    const card = cards(res.body).find((c) => c.summary.includes('could not be evaluated'));
    expect(card?.indicator).toBe('warning');
    expect(card?.detail).toContain(`its medication Medication/not-on-the-ehr is neither contained nor sent with the draft orders, and could not be read (${why})`);
  });
});

describe("the record's prescriptions that reference a Medication", () => {
  /** Seed A with an active prescription whose drug (lorazepam) is only in a Medication on the EHR, no display. */
  async function seedAWithReferencedSedative(): Promise<Body> {
    const id = await createOnEhr(svc, { resourceType: 'Medication', code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197901', display: 'lorazepam 1 MG Oral Tablet' }] } });
    const body = fixtureRequest('seed-a.order-sign.json');
    delete body['fhirServer'];
    const bundle = body.prefetch?.['medicationRequests'] as { entry?: Entry[] };
    const prescription = { resourceType: 'MedicationRequest', id: 'ep-lorazepam', status: 'active', intent: 'order', subject: { reference: 'Patient/it-seed-a' }, authoredOn: '2026-09-01', medicationReference: { reference: `Medication/${id}` } };
    bundle.entry = [...(bundle.entry ?? []), { resource: prescription, search: { mode: 'match' } }];
    return body;
  }
  const sedativeCard = (body: Record<string, unknown>) => cards(body).find((c) => c.summary.startsWith('Intrathecal opioid with an active sedative'));

  it('reads the Medication, so a sedative prescribed that way raises the warning', async () => {
    const body = await seedAWithReferencedSedative();
    const res = await call(svc, 'POST', ORDER_SIGN, { ...body, fhirServer: `${svc.baseUrl}/fhir` });
    expect(res.status).toBe(200);
    expect(sedativeCard(res.body)?.indicator).toBe('warning');
    expect(sedativeCard(res.body)?.detail).toContain('MedicationRequest/ep-lorazepam');
  });

  it('without a fhirServer the prescription stays unnamed, the warning is not raised, and the answer says what it missed', async () => {
    const body = await seedAWithReferencedSedative();
    const res = await call(svc, 'POST', ORDER_SIGN, body);
    expect(res.status).toBe(200);
    expect(sedativeCard(res.body)).toBeUndefined();
    const incomplete = cards(res.body).find((c) => c.summary.startsWith('Guidance is incomplete'));
    expect(incomplete?.summary).toBe('Guidance is incomplete: medicationRequests (in part) could not be read');
    expect(incomplete?.detail).toMatch(/- medicationRequests: MedicationRequest\/ep-lorazepam names its drug only as Medication\/[^,]+, which could not be read \(not sent, and the request names no fhirServer\)/);
  });

  it('a prescription whose reference carries the drug as display is not reported: the checks read it by that name', async () => {
    const body = await seedAWithReferencedSedative();
    const bundle = body.prefetch?.['medicationRequests'] as { entry: Entry[] };
    const prescription = bundle.entry.find((e) => e.resource['id'] === 'ep-lorazepam')?.resource as Record<string, unknown>;
    prescription['medicationReference'] = { ...(prescription['medicationReference'] as object), display: 'LORazepam 1 mg tablet' };
    const res = await call(svc, 'POST', ORDER_SIGN, body);
    expect(res.status).toBe(200);
    expect(cards(res.body).some((c) => c.summary.startsWith('Guidance is incomplete'))).toBe(false);
    expect(sedativeCard(res.body)?.indicator).toBe('warning');
  });
});

describe('reads of Medications are bounded', () => {
  let fake: FakeFhir;
  const asked: string[] = [];
  beforeAll(async () => {
    // A stand-in server: it counts the reads, and answers 500 for one Medication (a fault the real server cannot make).
    fake = await startFakeFhir((req, res) => {
      asked.push(req.url ?? '');
      res.setHeader('Content-Type', 'application/fhir+json');
      const id = /\/Medication\/([^/?]+)$/.exec(req.url ?? '')?.[1];
      if (id === 'broken') {
        res.statusCode = 500;
        res.end();
      } else if (id) res.end(JSON.stringify({ resourceType: 'Medication', id, code: { text: 'acetaminophen 500 mg tablet' } }));
      else res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', entry: [] }));
    });
  });
  afterAll(() => fake.stop());

  it(`reads at most ${MAX_MEDICATION_READS} per call, the draft order's first`, async () => {
    asked.length = 0;
    const { body } = withoutSentMedication('Medication/for-the-order');
    const bundle = body.prefetch?.['medicationRequests'] as { entry?: Entry[] };
    const history = Array.from({ length: MAX_MEDICATION_READS + 5 }, (_, i) => ({ resource: { resourceType: 'MedicationRequest', id: `old-${i}`, status: 'completed', intent: 'order', subject: { reference: 'Patient/it-seed-b' }, medicationReference: { reference: `Medication/m-${i}` } } }));
    bundle.entry = [...(bundle.entry ?? []), ...history];
    const res = await call(svc, 'POST', ORDER_SIGN, { ...body, fhirServer: fake.url });
    expect(res.status).toBe(200);
    const reads = asked.filter((u) => u.includes('/Medication/'));
    expect(reads.length).toBe(MAX_MEDICATION_READS);
    expect(reads).toContain('/fhir/Medication/for-the-order');
    expect(reads).not.toContain(`/fhir/Medication/m-${MAX_MEDICATION_READS - 1}`);
  });

  it("names the server's failure on the card of the order whose Medication it could not read", async () => {
    const { body } = withoutSentMedication('Medication/broken');
    const res = await call(svc, 'POST', ORDER_SIGN, { ...body, fhirServer: fake.url });
    expect(res.status).toBe(200);
    const card = cards(res.body).find((c) => c.summary.includes('could not be evaluated'));
    expect(card?.detail).toContain('its medication Medication/broken is neither contained nor sent with the draft orders, and could not be read (FHIR server answered HTTP 500)');
  });
});
