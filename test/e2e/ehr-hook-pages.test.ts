/**
 * The embedded EHR's hook pages in headless Chromium, as integrators and clinicians try the service offline: select,
 * sign and send a patient's pending orders, book and start a refill visit, each answer shown as an EHR shows it
 * (coverage, cards with their Markdown rendered, the orders they name), with or without prefetch; override a card
 * (CDS Hooks feedback), accept its suggestion (the EHR changes its record) and open the app from a card's SMART link; an appointment-book card opens the app on the
 * order the visit is booked for; a baclofen patient with cerebral palsy gets the dose-step warning, and a pump mix
 * naming liposomal bupivacaine the critical card, whose suggestion removes it; a renewal the plan answered "no review"
 * for the drug and certified without an end for the supplies gets a card for each. The launcher fits its page.
 */
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { StoredInvocation } from '../../src/store/audit-store.js';
import type { RunningService } from '../support/harness.js';
import { screenshot } from '../support/browser.js';
import { consentAndReview, openAppFrom, startForBrowser as start, withBrowserAndService } from '../support/smart-launch.js';

let browser: Browser;
let svc: RunningService;

withBrowserAndService((b, s) => {
  browser = b;
  svc = s;
});

/** The audit record of the latest call to a service for seed A, once the audit writer has written it. */
async function latestCall(service: string): Promise<StoredInvocation | undefined> {
  await svc.built.parts.auditWriter.idle();
  return (await svc.built.parts.audit.search({ serviceId: service, patientId: 'it-seed-a', limit: 1 }))[0];
}

/** A new page on the EHR launcher, one of a patient's hook buttons clicked (seed A's by default), its answer shown. */
async function fromLauncher(button: string, answered: RegExp, patient = 'it-seed-a'): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${svc.baseUrl}/ehr/launcher`);
  await page.locator('li', { hasText: `Patient/${patient}` }).getByRole('button', { name: button }).click();
  await page.waitForURL(answered);
  return page;
}

describe("the embedded EHR's hook calls", () => {
  it('signs the pending orders, shows the cards and coverage as an EHR does, and a card opens the app on its orders', async () => {
    const page = await fromLauncher('Sign the pending orders (order-sign)', /\/ehr\/sign$/);
    const text = await page.locator('main').innerText();
    expect(text).toContain('MedicationRequest/it-seed-a-draft-morphine: covered: covered');
    expect(text).toContain('ServiceRequest/it-seed-a-draft-s9328: covered: covered');
    expect(text).toContain('Pump refill drug follows the established pump');
    // Without prefetch (the launcher's default) the service read the record: its audit record keeps the reads.
    expect(text).toContain('Called without prefetch: the service read the record from the EHR\'s FHIR server.');
    expect((await latestCall('intrathecal-order-sign'))?.fetched).toMatchObject({ reads: expect.arrayContaining([expect.objectContaining({ status: 200 })]) as unknown });
    // The detail's Markdown is rendered: headings in bold, lists, a source's link opening in a new tab.
    const detail = page.locator('article.card .detail').first();
    expect(await detail.locator('strong', { hasText: 'Sources' }).count()).toBe(1);
    expect(await detail.locator('li').count()).toBeGreaterThan(3);
    const source = detail.getByRole('link', { name: 'Anthem CG-SURG-79 Implantable Infusion Pumps' });
    expect(await source.getAttribute('href')).toMatch(/^https:\/\/www\.anthem\.com\//);
    expect(await source.getAttribute('target')).toBe('_blank');
    expect(await detail.innerText()).not.toContain('**');
    await screenshot(page, 'embedded-ehr-signed-orders');
    // The first card about the drug order opens the app with the card's appContext, through the EHR's launch.
    await openAppFrom(page.locator('article.card', { hasText: 'Pump refill drug follows the established pump' }));
    expect(await page.locator('#load-orders').innerText()).toContain('Orders named by the card: MedicationRequest/it-seed-a-draft-morphine');
    await page.close();
  });

  it('calls with prefetch when the launcher is asked to, as the sandbox does: the same coverage, and nothing read from the EHR', async () => {
    const page = await browser.newPage();
    await page.goto(`${svc.baseUrl}/ehr/launcher`);
    await page.getByRole('link', { name: 'Call with prefetch' }).click();
    await page.waitForURL(/\/ehr\/launcher\?prefetch=1$/);
    await page.locator('li', { hasText: 'Patient/it-seed-a' }).getByRole('button', { name: 'Sign the pending orders (order-sign)' }).click();
    await page.waitForURL(/\/ehr\/sign$/);
    const text = await page.locator('main').innerText();
    expect(text).toContain('Called with prefetch: patient, conditions, devices, medicationRequests, observations, procedures, medicationAdministrations, coverages, claimResponses, claims.');
    expect(text).toContain('MedicationRequest/it-seed-a-draft-morphine: covered: covered');
    expect(text).toContain('ServiceRequest/it-seed-a-draft-s9328: covered: covered');
    const call = await latestCall('intrathecal-order-sign');
    expect(call?.fetched).toBeNull();
    const prefetch = (call?.request as { prefetch: Record<string, { resourceType: string; type?: string }> }).prefetch;
    expect(prefetch['patient']?.resourceType).toBe('Patient');
    expect(prefetch['conditions']).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
    // Back to the launcher keeps the choice.
    await page.getByRole('link', { name: 'Back to the launcher' }).click();
    await page.waitForURL(/\/ehr\/launcher\?prefetch=1$/);
    await page.close();
  });

  it('signs a baclofen refill for cerebral palsy that raises the dose past the cerebral-origin step: the warning names both orders', async () => {
    const page = await fromLauncher('Sign the pending orders (order-sign)', /\/ehr\/sign$/, 'it-var-baclofen-cp');
    const card = page.locator('article.card', { hasText: 'more than one titration step' });
    // 200 -> 240 mcg/day is one step for spinal origin (up to 30 %), more than one for cerebral origin (15 %).
    expect(await card.locator('p strong').first().innerText()).toContain('Intrathecal baclofen 200 -> 240 mcg/day (+20 %) since 2026-08-10');
    const detail = await card.innerText();
    expect(detail).toContain('this record is judged as cerebral origin, with steps up to 15 %');
    expect(detail).toContain('MedicationRequest/it-var-baclofen-cp-mr-prev');
    expect(detail).toContain('Condition/it-var-baclofen-cp-cp (G80.0 Spastic quadriplegic cerebral palsy');
    expect(await page.locator('main').innerText()).toContain('MedicationRequest/it-var-draft-baclofen-cp: covered: covered');
    await screenshot(page, 'embedded-ehr-baclofen-dose-step');
    await page.close();
  });

  it('signs a pump mix that names liposomal bupivacaine: a critical card, whose suggestion removes the order from the pending ones', async () => {
    // Seed B's pitfall on a patient of its own: the pharmacy's mix names EXPAREL instead of plain bupivacaine.
    const page = await fromLauncher('Sign the pending orders (order-sign)', /\/ehr\/sign$/, 'it-var-exparel');
    const card = page.locator('article.card.critical');
    expect(await card.count()).toBe(1);
    expect(await card.locator('p strong').first().innerText()).toBe('Liposomal bupivacaine (EXPAREL) is not for intrathecal or pump use: order plain preservative-free bupivacaine');
    expect(await card.locator('.badge').first().innerText()).toBe('CRITICAL');
    expect(await card.innerText()).toContain('draft, 2026-11-20) names liposomal bupivacaine. EXPAREL is labeled for infiltration or perineural use');
    await screenshot(page, 'embedded-ehr-exparel');
    await card.getByRole('button', { name: 'Accept' }).click();
    await page.waitForURL(/\/ehr\/accept$/);
    expect(await page.locator('main').innerText()).toContain('removed MedicationRequest/it-var-draft-exparel-mix');
    await page.getByRole('link', { name: 'Back to the launcher' }).click();
    await page.waitForURL(/\/ehr\/launcher$/);
    // No pending order names it any more (the patient's own line still says what it is there to show).
    const listed = page.locator('li', { hasText: 'Patient/it-var-exparel' });
    expect((await listed.innerText()).replace(await listed.locator('.about').innerText(), '')).not.toContain('EXPAREL');
    await page.close();
  });

  it("signs a refill whose plan answered the renewal in two ways prior-authorization staff must read: no review for the drug, an undated certification for the supplies", async () => {
    // Seed A's record, with the renewal answered: J2274 "no action required" (X12 NA), S9328 certified without an end.
    const page = await fromLauncher('Sign the pending orders (order-sign)', /\/ehr\/sign$/, 'it-var-pa-answers');
    const text = await page.locator('main').innerText();
    expect(text).toContain('MedicationRequest/it-var-pa-answers-draft-morphine: covered: covered, prior authorization: no-auth');
    expect(text).toContain('ServiceRequest/it-var-pa-answers-draft-s9328: covered: covered, prior authorization: conditional');
    const none = page.locator('article.card', { hasText: "No prior authorization needed, by the payer's latest answer (2026-11-18, no action required)" });
    expect(await none.innerText()).toContain('J2274 no action required (no. RV-9002)');
    const undated = page.locator('article.card', { hasText: 'Prior authorization certified 2026-11-18 without an end date: confirm with the plan, do not request again' });
    expect(await undated.innerText()).toContain('ClaimResponse/it-var-pa-answers-supplies');
    // Neither answer is taken for an ended authorization to renew.
    expect(text).not.toContain('request a renewal');
    await screenshot(page, 'embedded-ehr-payer-answers');
    // The app, opened from the card, drafts the summary with the payer's answer said as what it is.
    await openAppFrom(none);
    const summary = await page.locator('#summary-text').inputValue();
    expect(summary).toContain("- The payer's latest answer: no prior authorization needed (no action required):\n  - ClaimResponse/it-var-pa-answers-drug (J2274 no action required (no. RV-9002)");
    await screenshot(page, 'smart-app-payer-answers');
    await page.close();
  });

  it('lists the patients within its page, each with what it is there to show: a long pending order does not push past the panel', async () => {
    const page = await browser.newPage();
    await page.goto(`${svc.baseUrl}/ehr/launcher`);
    // Each patient says what it is there to show (its narrative, as text).
    expect(await page.locator('li', { hasText: 'Patient/it-var-pa-answers' }).locator('.about').innerText()).toContain('"no action required" for the drug and certified without an end date for the supplies');
    expect(await page.locator('li', { hasText: 'Patient/it-seed-b' }).locator('.about').innerText()).toContain('compounded morphine & bupivacaine pump mix');
    expect(await page.locator('.about').count()).toBe(await page.locator('main > ul > li').count());
    expect(await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth')).toBeLessThanOrEqual(1);
    const panel = await page.locator('main').boundingBox();
    for (const select of await page.locator('main select').all()) {
      const box = await select.boundingBox();
      expect((box?.x ?? 0) + (box?.width ?? 0)).toBeLessThanOrEqual((panel?.x ?? 0) + (panel?.width ?? 0));
    }
    await screenshot(page, 'embedded-ehr-launcher');
    await page.close();
  });

  it("sends a clinician's override of a card back to the service as CDS Hooks feedback", async () => {
    const page = await fromLauncher('Sign the pending orders (order-sign)', /\/ehr\/sign$/);
    // The clinician overrides the card about the drug; the EHR sends it as CDS Hooks feedback.
    const drugCard = page.locator('article.card', { hasText: 'Pump refill drug follows the established pump' });
    const uuid = await drugCard.locator('input[name="card"]').inputValue();
    await drugCard.locator('input[name="comment"]').fill('reviewed with the pump clinic');
    await drugCard.getByRole('button', { name: 'Override' }).click();
    await page.waitForURL(/\/ehr\/feedback$/);
    expect(await page.locator('main').innerText()).toContain(`The service stored the override of card ${uuid} (1 feedback item)`);
    const stored = (await svc.built.parts.feedback.forCards([uuid]))[0];
    expect(stored).toMatchObject({ serviceId: 'intrathecal-order-sign', card: uuid, outcome: 'overridden', overrideReason: { userComment: 'reviewed with the pump clinic' } });
    await page.close();
  });

  it("accepts a card's suggestion: the EHR applies its actions to its record and tells the service, and the next signing follows the change", async () => {
    // The Medicare fee-for-service patient's S9328 order gets the card that suggests the 95990 service instead.
    const page = await fromLauncher('Sign the pending orders (order-sign)', /\/ehr\/sign$/, 'it-var-medicare');
    const card = page.locator('article.card', { hasText: 'Medicare does not pay S-codes such as S9328' });
    expect(await page.locator('main').innerText()).toContain('ServiceRequest/it-var-medicare-draft-s9328: covered: not-covered');
    // The same orders signed in another window: its suggestion names the same S9328 order.
    const other = await fromLauncher('Sign the pending orders (order-sign)', /\/ehr\/sign$/, 'it-var-medicare');
    const otherCard = other.locator('article.card', { hasText: 'Medicare does not pay S-codes such as S9328' });
    const otherSuggestion = await otherCard.locator('input[name="suggestion"]').first().inputValue();
    await card.getByRole('button', { name: 'Accept' }).click();
    await page.waitForURL(/\/ehr\/accept$/);
    const text = await page.locator('main').innerText();
    expect(text).toContain('Replace the S9328 per-diem order with a pump refill and maintenance service (95990)');
    expect(text).toContain('removed ServiceRequest/it-var-medicare-draft-s9328');
    expect(text).toMatch(/created ServiceRequest\/[\w-]+ \(95990 Refilling and maintenance of implantable pump/);
    expect(text).toContain('The service stored the acceptance.');
    await screenshot(page, 'embedded-ehr-suggestion-accepted');
    // The service keeps the acceptance, naming the suggestion, as CDS Hooks feedback.
    // (The card the browser's page showed: not the other window's.)
    const signed = await svc.built.parts.audit.search({ serviceId: 'intrathecal-order-sign', patientId: 'it-var-medicare', limit: 2 });
    const shown = signed.flatMap((r) => (r.response as { cards: { uuid: string; summary: string; suggestions?: { uuid: string }[] }[] }).cards).find((c) => c.summary.startsWith('Medicare does not pay S-codes') && c.suggestions?.[0]?.uuid !== otherSuggestion);
    expect(await svc.built.parts.feedback.forCards([shown?.uuid ?? ''])).toMatchObject([{ outcome: 'accepted', acceptedSuggestions: [{ id: shown?.suggestions?.[0]?.uuid }] }]);
    // Signing again: the S-code order is gone, the 95990 service is covered, the card does not come back.
    await page.getByRole('link', { name: 'Back to the launcher' }).click();
    await page.locator('li', { hasText: 'Patient/it-var-medicare' }).getByRole('button', { name: 'Sign the pending orders (order-sign)' }).click();
    await page.waitForURL(/\/ehr\/sign$/);
    const again = await page.locator('main').innerText();
    expect(again).not.toContain('it-var-medicare-draft-s9328');
    expect(again).toMatch(/ServiceRequest\/[\w-]+: covered: covered/);
    expect(again).not.toContain('Medicare does not pay S-codes');
    // The other window's suggestion can no longer be applied (its order is gone): the clinician there sees why, on a
    // page (400); nothing changed, and it stays on offer (a refusal does not use it up): an API caller gets the same
    // refusal as an OperationOutcome.
    await otherCard.getByRole('button', { name: 'Accept' }).click();
    await other.waitForURL(/\/ehr\/accept$/);
    const refused = await other.locator('main').innerText();
    expect(refused).toContain('The EHR did not do this (HTTP 400):');
    expect(refused).toContain("ServiceRequest/it-var-medicare-draft-s9328 is not one of the patient's pending orders");
    await screenshot(other, 'embedded-ehr-suggestion-refused');
    await other.getByRole('link', { name: 'Back to the launcher' }).click();
    await other.waitForURL(/\/ehr\/launcher$/);
    await other.close();
    for (let i = 0; i < 2; i++) {
      const stale = await fetch(`${svc.baseUrl}/ehr/accept`, { method: 'POST', body: new URLSearchParams({ patient: 'it-var-medicare', suggestion: otherSuggestion }) });
      expect(stale.status).toBe(400);
      expect(stale.headers.get('content-type')).toContain('application/fhir+json');
      expect(await stale.text()).toContain("ServiceRequest/it-var-medicare-draft-s9328 is not one of the patient's pending orders");
    }
    // The same suggestion cannot be accepted twice.
    const twice = await fetch(`${svc.baseUrl}/ehr/accept`, { method: 'POST', body: new URLSearchParams({ patient: 'it-var-medicare', suggestion: shown?.suggestions?.[0]?.uuid ?? '' }) });
    expect(twice.status).toBe(404);
    await page.close();
  });

  it('selects one pending order (order-select): early guidance for that order alone, no coverage yet', async () => {
    const page = await browser.newPage();
    await page.goto(`${svc.baseUrl}/ehr/launcher`);
    const row = page.locator('li', { hasText: 'Patient/it-seed-a' });
    await row.getByLabel('Pending order').selectOption('ServiceRequest/it-seed-a-draft-s9328');
    await row.getByRole('button', { name: 'Select this order (order-select)' }).click();
    await page.waitForURL(/\/ehr\/select$/);
    const text = await page.locator('main').innerText();
    expect(text).toContain('the answer of intrathecal-order-select');
    expect(text).toContain('None at selection');
    expect(await page.locator('article.card').count()).toBeGreaterThan(0);
    const cards = await page.locator('article.card').allInnerTexts();
    expect(cards.every((c) => c.includes('ServiceRequest/it-seed-a-draft-s9328') && !c.includes('MedicationRequest/it-seed-a-draft-morphine'))).toBe(true);
    await page.close();
  });

  it('sends the pending orders to the pharmacy (order-dispatch): coverage per order, overrides go to the dispatch service', async () => {
    const page = await fromLauncher('Send the pending orders to the pharmacy (order-dispatch)', /\/ehr\/dispatch$/);
    const text = await page.locator('main').innerText();
    expect(text).toContain('Orders sent to Organization/it-home-infusion-pharmacy');
    expect(text).toContain('MedicationRequest/it-seed-a-draft-morphine: covered: covered');
    expect(text).toContain('ServiceRequest/it-seed-a-draft-s9328: covered: covered');
    expect(await page.locator('article.card input[name="service"]').first().inputValue()).toBe('intrathecal-order-dispatch');
    await page.close();
  });

  it('starts a refill visit (encounter-start): the Encounter it stores is read by the service, or prefetched, and gets its coverage beside the reminders', async () => {
    const page = await fromLauncher('Start a refill visit (encounter-start)', /\/ehr\/start-visit$/);
    const text = await page.locator('main').innerText();
    const encounter = /Encounter\/([\w-]+) \(95990 [^)]*in-progress/.exec(text)?.[1];
    expect(encounter).toBeDefined();
    expect(text).toContain(`Encounter/${encounter ?? ''}: covered: covered, prior authorization: conditional`);
    expect(text).toContain('MRI');
    // At check-in, the front desk learns that the pump drug's authorizations have ended, before the refill is ordered.
    expect(text).toContain('Pump drug (J2274) authorization ended 2026-11-17 (S9328 too): renew before the refill, citing 6201931, 7192230');
    // The service read the visit from the EHR's FHIR server (no prefetch): its audit record keeps the read.
    const read = await latestCall('intrathecal-encounter-start');
    expect(JSON.stringify(read?.fetched)).toContain(`Encounter/${encounter ?? ''}`);
    // With prefetch the EHR sends it under the service's encounter key, and nothing is read.
    await page.goto(`${svc.baseUrl}/ehr/launcher?prefetch=1`);
    await page.locator('li', { hasText: 'Patient/it-seed-a' }).getByRole('button', { name: 'Start a refill visit (encounter-start)' }).click();
    await page.waitForURL(/\/ehr\/start-visit$/);
    const again = await page.locator('main').innerText();
    expect(again).toMatch(/Called with prefetch: encounter, patient, /);
    expect(again).toMatch(/Encounter\/[\w-]+: covered: covered, prior authorization: conditional/);
    expect((await latestCall('intrathecal-encounter-start'))?.fetched).toBeNull();
    await page.close();
  });

  it('books a refill visit, shows its coverage, and a card opens the app on the patient\'s pending orders', async () => {
    const page = await fromLauncher('Book a refill visit (appointment-book)', /\/ehr\/book$/);
    const text = await page.locator('main').innerText();
    expect(text).toMatch(/Appointment\/refill-visit-[\w-]+: covered: covered/);
    expect(text).toContain('the answer of intrathecal-appointment-book');
    expect(text).toContain('Pump drug (J2274) authorization ended 2026-11-17 (S9328 too): renew before the refill, citing 6201931, 7192230');
    // Its cards are overridden to the appointment-book service.
    expect(await page.locator('article.card input[name="service"]').first().inputValue()).toBe('intrathecal-appointment-book');
    // A visit booked for no order names none: the app reviews the patient's pending orders.
    await openAppFrom(page.locator('article.card').first());
    expect(await page.locator('#load-orders').innerText()).toContain('No order named by the EHR; evaluating the patient\'s pending orders');
    await page.close();
  });

  it('is not offered when the service asks hook calls for a JWT', async () => {
    const strict = await start({ ALLOW_UNAUTHENTICATED: 'false', TRUST_SANDBOX: 'false' });
    try {
      const launcher = await (await fetch(`${strict.baseUrl}/ehr/launcher`)).text();
      expect(launcher).toContain('Launch the intrathecal review app');
      expect(launcher).not.toContain('Sign the pending orders');
      expect(launcher).not.toContain('Book a refill visit');
      for (const action of ['sign', 'book', 'feedback', 'launch-link']) expect((await fetch(`${strict.baseUrl}/ehr/${action}`, { method: 'POST', body: new URLSearchParams({ patient: 'it-seed-a' }) })).status).toBe(404);
    } finally {
      await strict.stop();
    }
  });

  it('launches only the app it registered from a card link', async () => {
    const res = await fetch(`${svc.baseUrl}/ehr/launch-link`, { method: 'POST', body: new URLSearchParams({ patient: 'it-seed-a', url: 'https://evil.example/launch.html', appContext: 'x' }), redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('launches only the app it registered');
  });

  it('refuses an override with neither reason nor comment, or a reason that is no code, before calling the service', async () => {
    const post = (form: Record<string, string>) => fetch(`${svc.baseUrl}/ehr/feedback`, { method: 'POST', body: new URLSearchParams({ patient: 'it-seed-a', service: 'intrathecal-order-sign', card: 'c1', ...form }) });
    const none = await post({ comment: ' ' });
    expect(none.status).toBe(400);
    expect(JSON.stringify(await none.json())).toContain('an override needs a reason or a comment');
    const odd = await post({ reason: '{"display":"no code"}' });
    expect(odd.status).toBe(400);
    expect(JSON.stringify(await odd.json())).toContain('reason must be one of the codes the card offered');
    const elsewhere = await post({ service: 'intrathecal-patient-view', comment: 'x' });
    expect(elsewhere.status).toBe(400);
    expect(JSON.stringify(await elsewhere.json())).toContain('service must be one of intrathecal-order-select, intrathecal-order-sign, intrathecal-order-dispatch, intrathecal-appointment-book');
  });

  it("refuses to select an order that is not one of the patient's pending orders, naming them", async () => {
    const res = await fetch(`${svc.baseUrl}/ehr/select`, { method: 'POST', body: new URLSearchParams({ patient: 'it-seed-a', order: 'MedicationRequest/it-seed-b-draft-mix' }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ issue: [{ expression: ['order'], details: { text: "order must be one of the patient's pending orders: MedicationRequest/it-seed-a-draft-morphine, ServiceRequest/it-seed-a-draft-s9328" } }] });
  });
});

describe('launched from an appointment-book card', () => {
  it("opens on the order the visit is booked for, read from the EHR (the Appointment is not there yet)", async () => {
    const repo = (await svc.built.parts.ehr)?.fhir.repo;
    const order = await repo?.createResource({
      resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/it-seed-a' }, authoredOn: '2026-11-18',
      code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '95990' }], text: 'Pump refill and maintenance' },
    });
    const booking = JSON.parse(readFileSync('fhir-fixtures/requests/seed-a.appointment-book.json', 'utf8')) as { context: { appointments: { entry: { resource: Record<string, unknown> }[] } } };
    const visit = booking.context.appointments.entry[0]?.resource ?? {};
    delete visit['serviceType'];
    visit['basedOn'] = [{ reference: `ServiceRequest/${order?.id ?? ''}` }];
    const hook = await fetch(`${svc.baseUrl}/cds-services/intrathecal-appointment-book`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...booking, fhirServer: `${svc.baseUrl}/fhir` }),
    });
    const cards = ((await hook.json()) as { cards: { links?: { type: string; url: string; appContext?: string }[] }[] }).cards;
    const link = cards.flatMap((c) => c.links ?? []).find((l) => l.type === 'smart');
    expect(link?.appContext).toBe(`service=intrathecal-appointment-book&orders=${encodeURIComponent(`ServiceRequest/${order?.id ?? ''}`)}`);
    // The EHR launches the link as the CDS Hooks sandbox does: a launch context holding the link's appContext.
    const res = await fetch(`${svc.baseUrl}/fhir/_services/smart/Launch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ launchUrl: link?.url, parameters: { patient: 'it-seed-a', appContext: link?.appContext } }),
    });
    const { launch_id: launchId } = (await res.json()) as { launch_id: string };
    const page = await browser.newPage();
    await page.goto(`${link?.url ?? ''}?launch=${launchId}&iss=${encodeURIComponent(`${svc.baseUrl}/fhir`)}`);
    await consentAndReview(page);
    expect(await page.locator('#load-orders').innerText()).toContain(`Orders named by the card: ServiceRequest/${order?.id ?? ''}`);
    const orders = await page.locator('#orders-body').innerText();
    expect(orders).toContain('Pump refill and maintenance');
    expect(orders).not.toContain('MedicationRequest/it-seed-a-draft-morphine');
    await screenshot(page, 'smart-app-from-appointment-book');
    await page.close();
  });
});
