/**
 * The two cases the project was created from (shared/seeds), end to end over HTTP, with the rule pack the service
 * ships. The expected cards were reviewed line by line against the seed texts; docs/seed-review.md keeps the review.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, fixtureRequest, startService } from './support/harness.js';
import type { RunningService } from './support/harness.js';

let svc: RunningService;
beforeAll(async () => {
  svc = await startService({}, { clock: () => new Date('2026-11-20T15:00:00Z') });
});
afterAll(() => svc.stop());

type Card = { indicator: string; summary: string; detail: string; source: { label: string; topic?: { code: string } }; links?: { type: string; url: string; appContext?: string }[] };
type Action = { type: string; resource: { resourceType: string; id: string; extension: { url: string; extension: { url: string; valueCode?: string; valueCoding?: { code: string } }[] }[] } };

const outline = (cards: Card[]) => cards.map((c) => [c.indicator, c.source.topic?.code, c.summary]);
function coverage(actions: Action[]) {
  return actions.map((a) => {
    const ext = a.resource.extension.find((e) => e.url.endsWith('ext-coverage-information'))?.extension ?? [];
    const val = (url: string) => ext.filter((s) => s.url === url).map((s) => s.valueCode ?? s.valueCoding?.code);
    return [`${a.resource.resourceType}/${a.resource.id}`, a.type, val('covered')[0], val('pa-needed')[0], val('billingCode')[0], val('doc-needed')];
  });
}

async function sign(name: string, withServer = false) {
  const body = fixtureRequest(name);
  const res = await call(svc, 'POST', '/cds-services/intrathecal-order-sign', withServer ? { ...body, fhirServer: `${svc.baseUrl}/fhir` } : body);
  expect(res.status).toBe(200);
  return { cards: res.body['cards'] as Card[], actions: (res.body['systemActions'] ?? []) as Action[] };
}

describe('seed case A: G89.4, established effective pump, J2274 x 480/yr and S9328 x 365, commercial plan', () => {
  it('says the drug and the supplies follow the pump, shows the dose math and the documentation to add', async () => {
    const { cards } = await sign('seed-a.order-sign.json');
    expect(outline(cards)).toEqual([
      ['info', 'guideline', 'Pump refill drug follows the established pump: medically necessary as part of using the implanted pump'],
      ['info', 'guideline', 'Pump supplies and refill services follow the established pump: necessary for its proper use'],
      ['info', 'clinical-reminder', 'To support continuing the pump therapy, document at this refill what the checklist shows missing'],
      ['info', 'guideline', 'Morphine about 13.2 mg/day: compare with the programmed pump dose and the ceilings below'],
      // The seed's previous certifications, both ended by the signing date: one card for the two orders they authorized.
      ['info', 'coverage-info', 'Prior authorization ended 2026-11-17: request a renewal citing 6201931, 7192230'],
    ]);
    const renewal = cards[4];
    expect(renewal?.detail).toContain('ClaimResponse/it-seed-a-pa-7192230 (authorization 7192230, 2025-11-18 to 2026-11-17, complete');
    expect(renewal?.detail).toMatch(/Billed under a code the plan authorized before: MedicationRequest\/it-seed-a-draft-morphine [^\n]*; ServiceRequest\/it-seed-a-draft-s9328 /);
    expect(renewal?.detail?.match(/ClaimResponse\/it-seed-a-pa-7192230 \(/g)).toHaveLength(1);
    const appContext = new URLSearchParams(renewal?.links?.find((l) => l.type === 'smart')?.appContext);
    expect(appContext.get('orders')).toBe('MedicationRequest/it-seed-a-draft-morphine,ServiceRequest/it-seed-a-draft-s9328');
    const drug = cards[0]?.detail ?? '';
    expect(drug).toContain('Do not deny the drug for lack of drug-specific criteria');
    expect(drug).toContain('Do not demand a new trial');
    expect(drug).toContain('Do not separate the drug from the device');
    expect(drug).toContain('Device/it-seed-a-pump (SynchroMed II, model 8637-40, active)');
    expect(drug).toContain('Condition/it-seed-a-g894 (G89.4 Chronic pain syndrome, active, since 2016-05-02)');
    expect(cards[3]?.detail).toContain('Billed: 480 units of J2274 x 10 mg = 4,800 mg over 365 days, about 13.2 mg/day on average.');
    expect(cards.some((c) => c.indicator !== 'info')).toBe(false);
  });

  it('answers a CRD coverage-information update for each order: covered, prior authorization depends on the plan', async () => {
    const { actions } = await sign('seed-a.order-sign.json');
    expect(coverage(actions)).toEqual([
      ['MedicationRequest/it-seed-a-draft-morphine', 'update', 'covered', 'conditional', 'J2274', []],
      ['ServiceRequest/it-seed-a-draft-s9328', 'update', 'covered', 'conditional', 'S9328', []],
    ]);
  });

  it('with authorization 7192230 still running, prior authorization is satisfied and the number goes in satisfied-pa-id', async () => {
    const body = fixtureRequest('seed-a.order-sign.json');
    const bundle = body.prefetch?.['claimResponses'] as { entry: { resource: { id: string; preAuthPeriod: { end: string } } }[] };
    const current = bundle.entry.find((e) => e.resource.id === 'it-seed-a-pa-7192230');
    if (current) current.resource.preAuthPeriod.end = '2027-11-19';
    const res = await call(svc, 'POST', '/cds-services/intrathecal-order-sign', body);
    const actions = res.body['systemActions'] as Action[];
    expect(coverage(actions).map((c) => c[3])).toEqual(['satisfied', 'satisfied']);
    const paIds = actions.map((a) => a.resource.extension[0]?.extension.find((e) => e.url === 'satisfied-pa-id') as { valueString?: string } | undefined);
    expect(paIds.map((e) => e?.valueString)).toEqual(['7192230', '7192230']);
    expect((res.body['cards'] as Card[]).some((c) => c.summary.includes('renewal'))).toBe(false);
  });

  it('with a renewal certified for six months of the year ordered, it is satisfied, and one info card says when to renew', async () => {
    const { cards, actions } = await sign('seed-a-authorization-six-months.order-sign.json');
    expect(coverage(actions).map((c) => [c[0], c[3]])).toEqual([
      ['MedicationRequest/it-seed-a-draft-morphine', 'satisfied'],
      ['ServiceRequest/it-seed-a-draft-s9328', 'satisfied'],
    ]);
    const coverageCards = outline(cards).filter(([, topic]) => topic === 'coverage-info');
    expect(coverageCards).toEqual([['info', 'coverage-info', 'Prior authorization ends 2027-05-17, before the order does; request a renewal in time']]);
    const ending = cards.find((c) => c.summary.startsWith('Prior authorization ends'));
    expect(ending?.detail).toContain('authorized through 2027-05-17 (8300417): MedicationRequest/it-seed-a-draft-morphine (J2274');
    expect(ending?.detail).toContain('; ServiceRequest/it-seed-a-draft-s9328 (S9328');
    expect(ending?.detail).toContain('179 of the 365 days from today over which the order is dispensed or billed');
  });

  it('with 7192230 running but allowing fewer units than ordered, prior authorization is needed again and a warning says why', async () => {
    const body = fixtureRequest('seed-a.order-sign.json');
    const bundle = body.prefetch?.['claimResponses'] as { entry: { resource: { id: string; preAuthPeriod: { end: string }; addItem: { quantity?: { value: number } }[] } }[] };
    const current = bundle.entry.find((e) => e.resource.id === 'it-seed-a-pa-7192230')?.resource;
    if (current) {
      current.preAuthPeriod.end = '2027-11-17';
      (current.addItem[0] ?? {}).quantity = { value: 240 };
    }
    const res = await call(svc, 'POST', '/cds-services/intrathecal-order-sign', body);
    const actions = res.body['systemActions'] as Action[];
    expect(coverage(actions).map((c) => c[3])).toEqual(['auth-needed', 'satisfied']);
    expect(actions.map((a) => a.resource.extension[0]?.extension.some((e) => e.url === 'satisfied-pa-id'))).toEqual([false, true]);
    const warning = (res.body['cards'] as Card[]).filter((c) => c.indicator === 'warning');
    expect(warning.map((c) => c.summary)).toEqual(['480 units ordered; authorization 7192230 allows 240 for J2274']);
  });

  it('gives the same answer when the data comes from the FHIR server instead of prefetch', async () => {
    const prefetched = await sign('seed-a.order-sign.json');
    const fetched = await sign('seed-a.order-sign.no-prefetch.json', true);
    expect(outline(fetched.cards)).toEqual(outline(prefetched.cards));
    expect(coverage(fetched.actions)).toEqual(coverage(prefetched.actions));
  });

  it('after a renewal the payer did not certify, warns once for both orders with the reason, instead of asking for a renewal', async () => {
    const { cards, actions } = await sign('seed-a-renewal-not-certified.order-sign.json');
    const coverageCards = outline(cards).filter(([, topic]) => topic === 'coverage-info');
    expect(coverageCards).toEqual([['warning', 'coverage-info', 'Prior authorization not certified 2026-11-18: appeal or request again before billing']]);
    const warning = cards.find((c) => c.indicator === 'warning');
    expect(warning?.detail).toContain('MedicationRequest/it-seed-a-draft-morphine');
    expect(warning?.detail).toContain('ServiceRequest/it-seed-a-draft-s9328');
    expect(warning?.detail).toContain('J2274 not certified (no. RV-9001; reason Pain scores with and without the drug not submitted), S9328 not certified (no. RV-9001)');
    expect(coverage(actions).map(([order, , covered, paNeeded]) => [order, covered, paNeeded])).toEqual([
      ['MedicationRequest/it-seed-a-draft-morphine', 'covered', 'auth-needed'],
      ['ServiceRequest/it-seed-a-draft-s9328', 'covered', 'auth-needed'],
    ]);
  });

  it('after the payer answered the renewal "no action required" (NA), says no authorization is needed instead of asking for a renewal', async () => {
    const { cards, actions } = await sign('seed-a-renewal-no-review.order-sign.json');
    const coverageCards = outline(cards).filter(([, topic]) => topic === 'coverage-info');
    expect(coverageCards).toEqual([['info', 'coverage-info', "No prior authorization needed, by the payer's latest answer (2026-11-18, no action required)"]]);
    expect(cards.find((c) => c.summary.startsWith('No prior authorization needed'))?.detail).toContain('J2274 no action required (no. RV-9001), S9328 no action required (no. RV-9001)');
    // Merged over every rule that fired for the order: no rule left says "depends on the plan".
    expect(coverage(actions).map(([order, , covered, paNeeded]) => [order, covered, paNeeded])).toEqual([
      ['MedicationRequest/it-seed-a-draft-morphine', 'covered', 'no-auth'],
      ['ServiceRequest/it-seed-a-draft-s9328', 'covered', 'no-auth'],
    ]);
  });

  it('under Medicare fee-for-service, refuses S9328 as an S-code and says what to bill instead', async () => {
    const { cards, actions } = await sign('seed-a-medicare-ffs.order-sign.json');
    expect(outline(cards)[0]).toEqual(['warning', 'claim', 'Medicare does not pay S-codes such as S9328: bill the pump refill service and the drug instead']);
    expect(coverage(actions)).toEqual([
      ['MedicationRequest/it-seed-a-draft-morphine', 'update', 'covered', 'no-auth', 'J2274', []],
      ['ServiceRequest/it-seed-a-draft-s9328', 'update', 'not-covered', 'no-auth', 'S9328', []],
    ]);
  });
});

describe('seed case B: G89.4 + M96.1 + M54.16, compounded morphine 10 mg/mL + bupivacaine 15 mg/mL under J7999, pain 8 -> 3', () => {
  it('supports continuation, gives the J7999 narrative, checks each drug of the mix, and guards the pitfalls', async () => {
    const { cards } = await sign('seed-b.order-sign.json');
    expect(outline(cards)).toEqual([
      ['info', 'claim', 'Compounded pump drug: bill under J7999 (or the code the payer names) with each drug, concentration and amount'],
      ['info', 'guideline', 'Pump refill drug follows the established pump: medically necessary as part of using the implanted pump'],
      ['info', 'clinical-reminder', 'To support continuing the pump therapy, document at this refill what the checklist shows missing'],
      ['info', 'guideline', 'Morphine about 5 mg/day: compare with the programmed pump dose and the ceilings below'],
      ['info', 'claim', 'Medicare: report the pump drug and the refill service on the same claim; split claims are not allowed'],
    ]);
    expect(cards[0]?.detail).toContain('Morphine sulfate, preservative-free 10 mg/mL, total 200 mg, Bupivacaine hydrochloride, preservative-free 15 mg/mL, total 300 mg');
    expect(cards[0]?.detail).toContain('Do not stop effective therapy over coding complexity');
    expect(cards[1]?.detail).toContain('Response documented (pain without vs with the drug): yes (reduction 63 %)');
    expect(cards[1]?.detail).toContain('Do not confuse liposomal bupivacaine');
    expect(cards[3]?.detail).toContain('Programmed: 0.5 mL/day including flex/bolus doses; morphine 5 mg/day; bupivacaine 7.5 mg/day.');
  });

  it('returns the same-claim rule as a CRD External Reference card: absolute links to the guidance it summarizes, no app link', async () => {
    const { cards } = await sign('seed-b.order-sign.json');
    const sameClaim = cards.find((c) => c.summary.startsWith('Medicare: report the pump drug'));
    expect(sameClaim?.links?.map((l) => [l.type, l.url])).toEqual([
      ['absolute', 'https://www.cms.gov/medicare-coverage-database/view/article.aspx?articleid=55239'],
      ['absolute', expect.stringMatching(/^https:\/\/downloads\.cms\.gov\/medicare-coverage-database\/lcd_attachments\/31254_6\//)],
    ]);
    expect(sameClaim).not.toHaveProperty('suggestions');
    // Every other card of the call still opens the app.
    for (const card of cards.filter((c) => c !== sameClaim)) expect(card.links?.some((l) => l.type === 'smart')).toBe(true);
  });

  it('answers covered for the compounded order with its J7999 billing code', async () => {
    const { actions } = await sign('seed-b.order-sign.json');
    expect(coverage(actions)).toEqual([['MedicationRequest/it-seed-b-draft-mix', 'update', 'covered', 'conditional', 'J7999', []]]);
  });

  it('turns EXPAREL in the mix into a critical card, first', async () => {
    const { cards } = await sign('seed-b-exparel.order-sign.json');
    expect(outline(cards)[0]).toEqual(['critical', 'contraindication', 'Liposomal bupivacaine (EXPAREL) is not for intrathecal or pump use: order plain preservative-free bupivacaine']);
  });
});

describe('orders the pack does not concern', () => {
  it('an unrelated order gets no card and no system action', async () => {
    const res = await call(svc, 'POST', '/cds-services/intrathecal-order-sign', fixtureRequest('seed-a-unrelated-order.order-sign.json'));
    expect(res.body).toEqual({ cards: [] });
  });
});

describe('order-select and patient-view on the seeds', () => {
  it('order-select gives the light preview and no system actions', async () => {
    const sign = fixtureRequest('seed-a.order-sign.json');
    const body = { ...sign, hook: 'order-select', context: { ...sign.context, selections: ['ServiceRequest/it-seed-a-draft-s9328'] } };
    const res = await call(svc, 'POST', '/cds-services/intrathecal-order-select', body);
    expect(outline(res.body['cards'] as Card[])).toEqual([['info', 'guideline', 'Intrathecal pump order: at signing it is checked against the pump, the diagnosis, the dose and the payer']]);
    expect(res.body['systemActions']).toBeUndefined();
  });

  it('patient-view reminds about the refill due and the documentation for it (seed B)', async () => {
    const body = { hook: 'patient-view', hookInstance: '5b1c3c8e-7d0e-4f53-9d55-8c2d1f7a6b01', fhirServer: `${svc.baseUrl}/fhir`, context: { userId: 'Practitioner/it-prac-1', patientId: 'it-seed-b' } };
    const res = await call(svc, 'POST', '/cds-services/intrathecal-patient-view', body);
    expect(outline(res.body['cards'] as Card[])).toEqual([
      ['info', 'clinical-reminder', 'Intrathecal pump: documentation for the next refill is incomplete'],
      ['info', 'clinical-reminder', 'SynchroMed pump on record: the pump stalls during MRI; interrogate it afterwards'],
      ['info', 'clinical-reminder', 'Pump refill due: 1 day(s) left by the refill history'],
    ]);
  });
});
