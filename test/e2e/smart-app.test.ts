/**
 * The SMART app as it is used: a real EHR launch from the embedded EHR's launcher in headless Chromium, PKCE against
 * the real authorization server (oidc-provider), the record read with the issued token, the evaluation shown, the
 * summary edited and saved to the chart, and the DocumentReference found on the FHIR server afterwards. Also the
 * failure paths: a wrong iss, a denied authorization, a resource type not granted, a token that expires.
 */
import { readFileSync } from 'node:fs';
import type { DocumentReference } from '@medplum/fhirtypes';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';
import type { StoredInvocation } from '../../src/store/audit-store.js';
import { launchBrowser, screenshot } from '../support/browser.js';

let browser: Browser;
let svc: RunningService;

async function start(env: Record<string, string> = {}): Promise<RunningService> {
  const port = await freePort();
  return startService({ PORT: String(port), PUBLIC_BASE_URL: `http://127.0.0.1:${port}`, STORE_PATH: ':memory:', ...env }, { clock: () => new Date('2026-11-20T15:00:00Z') });
}

beforeAll(async () => {
  browser = await launchBrowser();
  svc = await start();
});
afterAll(async () => {
  await browser?.close();
  await svc?.stop();
});

/** From the EHR launcher to the consent page, for a patient. */
async function launchFromEhr(page: Page, service: RunningService, patient: string): Promise<void> {
  await page.goto(`${service.baseUrl}/ehr/launcher`);
  await page.locator(`form[action="/ehr/launch"]:has(input[value="${patient}"]) button`).click();
  await page.waitForURL(/\/ehr\/authorize\//);
}

async function allowAndWait(page: Page, untick: string[] = []): Promise<void> {
  for (const scope of untick) await page.locator(`input[name="scope"][value="${scope}"]`).uncheck();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(/\/app\/index\.html/);
}

async function waitForEvaluation(page: Page): Promise<void> {
  await page.waitForFunction("!document.getElementById('summary-text').disabled", undefined, { timeout: 15_000 });
}

/** A launch under way: at the consent page, allowed, the evaluation shown. */
async function consentAndReview(page: Page): Promise<void> {
  await page.waitForURL(/\/ehr\/authorize\//);
  await allowAndWait(page);
  await waitForEvaluation(page);
}

/** A card on the embedded EHR's page opens the app with its SMART link: consent given, evaluation shown. */
async function openAppFrom(card: Locator): Promise<void> {
  await card.getByRole('button', { name: 'Open the full review and the medical-necessity summary' }).click();
  await consentAndReview(card.page());
}

/** An EHR launch for a patient, consent given, evaluation shown: the page a reviewer lands on. */
async function openReview(patient: string, viewport?: { width: number; height: number }): Promise<Page> {
  const page = await browser.newPage(viewport ? { viewport } : {});
  await launchFromEhr(page, svc, patient);
  await allowAndWait(page);
  await waitForEvaluation(page);
  return page;
}

/** A standalone launch (no EHR context), the patient picked at the authorization server, evaluation shown. */
async function standaloneReview(patient: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${svc.baseUrl}/app/launch.html?iss=${encodeURIComponent(`${svc.baseUrl}/fhir`)}`);
  await page.waitForURL(/\/ehr\/authorize\//);
  await page.locator('select[name="patient"]').selectOption(patient);
  await allowAndWait(page);
  await waitForEvaluation(page);
  return page;
}

describe('EHR launch of the SMART app', () => {
  it('seed A: shows coverage, evidence, documentation gaps and a summary; the edited summary is saved to the chart', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await launchFromEhr(page, svc, 'it-seed-a');
    expect(await page.locator('main').innerText()).toContain('Patient: Avery Seedcase');
    await allowAndWait(page);
    await waitForEvaluation(page);
    // The app asks for, and the EHR grants, every type the rules read: seed A has no administrations on record.
    expect(await page.locator('#load-medicationAdministrations').innerText()).toContain('none on record');
    await expect.poll(() => page.locator('#banner').innerText()).toContain('Avery Seedcase');
    const orders = await page.locator('#orders-body').innerText();
    expect(orders).toContain('MedicationRequest/it-seed-a-draft-morphine');
    expect(orders).toContain('ServiceRequest/it-seed-a-draft-s9328');
    expect(await page.locator('#orders-body .badge.cov-covered').count()).toBe(2);
    expect(orders).toContain('Billed: 480 units of J2274 x 10 mg = 4,800 mg over 365 days, about 13.2 mg/day on average.');
    // What each coverage line rests on, by title and confidence; not the drug labels the cards cite for their pitfalls.
    const basedOn = await page.locator('#orders-body .coverage-sources').first().innerText();
    expect(basedOn).toMatch(/^Based on: Anthem CG-SURG-79 Implantable Infusion Pumps \(confirmed\);.* Codman implantable pump reimbursement FAQ \(confirmed\);/);
    expect(basedOn).not.toContain('EXPAREL');
    const documentation = await page.locator('#documentation-body').innerText();
    expect(documentation).toMatch(/Not met\s*A pain score taken without the intrathecal drug/);
    expect(await page.locator('#policy-body').innerText()).toMatch(/Met\s*The patient has an established implanted pump/);
    await page.locator('#policy-body details summary').first().click();
    expect(await page.locator('#policy-body details pre').first().innerText()).toContain('"resourceType": "Device"');
    expect(await page.locator('#pitfalls-body').innerText()).toContain('Do not demand a new trial');
    const summary = await page.locator('#summary-text').inputValue();
    expect(summary).toContain('MEDICAL NECESSITY SUMMARY');
    expect(summary).toContain('Device/it-seed-a-pump (SynchroMed II, model 8637-40, active)');
    expect(summary).toContain('[MISSING: a pain score taken without the intrathecal drug');
    // The seed's previous certifications, read with the patient's token (patient/ClaimResponse.rs).
    expect(await page.locator('#load-claimResponses').innerText()).toContain('2 read');
    expect(await page.locator('#load-claims').innerText()).toContain('none on record');
    expect(summary).toContain('ClaimResponse/it-seed-a-pa-7192230 (authorization 7192230, 2025-11-18 to 2026-11-17');
    expect(await page.locator('#orders-body').innerText()).toContain('request a renewal citing 6201931, 7192230');
    await screenshot(page, 'smart-app-seed-a');

    await page.locator('#summary-text').fill(`${summary}\n\nReviewer note: pain score without the drug to be added at the next refill.`);
    await page.getByRole('button', { name: 'Save to the chart' }).click();
    await expect.poll(() => page.locator('#save-status').innerText()).toMatch(/Saved to the chart as DocumentReference\/\S+\./);
    const id = /DocumentReference\/([^.\s]+)/.exec(await page.locator('#save-status').innerText())?.[1] ?? '';
    const saved = await (await svc.built.parts.ehr)?.fhir.repo.readResource<DocumentReference>('DocumentReference', id);
    expect(saved?.subject?.reference).toBe('Patient/it-seed-a');
    expect(saved?.author?.[0]?.reference).toBe('Practitioner/it-prac-1');
    expect(Buffer.from(saved?.content[0]?.attachment.data ?? '', 'base64').toString('utf8')).toContain('Reviewer note: pain score without the drug');
    await page.close();
  });

  it('seed B: the compounded mix with its narrative, per-drug dose and the documented response', async () => {
    const page = await openReview('it-seed-b', { width: 1024, height: 700 });
    const orders = await page.locator('#orders-body').innerText();
    expect(orders).toContain('Programmed: 0.5 mL/day including flex/bolus doses; morphine 5 mg/day; bupivacaine 7.5 mg/day.');
    expect(orders).toContain('Compounded pump drug: bill under J7999');
    expect(await page.locator('#documentation-body').innerText()).toMatch(/Met\s*A pain score taken without the intrathecal drug/);
    expect(await page.locator('#summary-text').inputValue()).toContain('Coverage/it-seed-b-coverage (11 MEDICARE (Managed Care), active');
    await screenshot(page, 'smart-app-seed-b');
    // Printing: the print stylesheet shows the (edited) summary as text and hides the controls.
    await page.locator('#summary-text').fill('Edited summary for print');
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('#summary-print').isVisible()).toBe(true);
    expect(await page.locator('#summary-print').innerText()).toBe('Edited summary for print');
    expect(await page.locator('#summary-text').isVisible()).toBe(false);
    expect(await page.locator('nav.toc').isVisible()).toBe(false);
    await screenshot(page, 'smart-app-print');
    await page.close();
  });

  it('a narrow (phone-sized) screen still shows the review', async () => {
    const page = await openReview('it-seed-a', { width: 390, height: 844 });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(1);
    await screenshot(page, 'smart-app-narrow');
    await page.close();
  });
});

describe('other ways in', () => {
  it('standalone launch with the patient picker at the authorization server', async () => {
    const page = await standaloneReview('it-seed-b');
    expect(await page.locator('#loads').innerText()).toContain("No order named by the EHR; evaluating the patient's pending orders");
    expect(await page.locator('#orders-body').innerText()).toContain('MedicationRequest/it-seed-b-draft-mix');
    await page.close();
  });

  it('the CDS Hooks sandbox way: POST {fhirServer}/_services/smart/Launch, then the smart link with launch and iss', async () => {
    const res = await fetch(`${svc.baseUrl}/fhir/_services/smart/Launch`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ launchUrl: `${svc.baseUrl}/app/launch.html`, parameters: { patient: 'it-seed-a', appContext: 'service=intrathecal-order-sign&orders=MedicationRequest/it-seed-a-draft-morphine' } }),
    });
    const { launch_id: launchId } = (await res.json()) as { launch_id: string };
    expect(launchId).toMatch(/^[\w-]{16,}$/);
    const page = await browser.newPage();
    await page.goto(`${svc.baseUrl}/app/launch.html?launch=${launchId}&iss=${encodeURIComponent(`${svc.baseUrl}/fhir`)}`);
    await consentAndReview(page);
    const orders = await page.locator('#orders-body').innerText();
    expect(orders).toContain('MedicationRequest/it-seed-a-draft-morphine');
    expect(orders).not.toContain('ServiceRequest/it-seed-a-draft-s9328');
    await page.close();
  });
});

/** The audit record of the latest call to a service for seed A, once the audit writer has written it. */
async function latestCall(service: string): Promise<StoredInvocation | undefined> {
  await svc.built.parts.auditWriter.idle();
  return (await svc.built.parts.audit.search({ serviceId: service, patientId: 'it-seed-a', limit: 1 }))[0];
}

/** A new page on the EHR launcher, one of seed A's hook buttons clicked, its answer shown. */
async function fromLauncher(button: string, answered: RegExp): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${svc.baseUrl}/ehr/launcher`);
  await page.locator('li', { hasText: 'Patient/it-seed-a' }).getByRole('button', { name: button }).click();
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

describe('failures a person must understand', () => {
  it('a launch from an EHR the app is not registered with is refused before any sign-in', async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${svc.baseUrl}/app/launch.html?iss=${encodeURIComponent('https://evil.example/fhir')}&launch=abc`);
    await expect.poll(() => page.locator('#status').innerText()).toContain('not registered with the EHR at https://evil.example/fhir');
    expect(requests.some((u) => u.startsWith('https://evil.example'))).toBe(false);
    await page.close();
  });

  it('an empty record says what is missing instead of failing', async () => {
    await (await svc.built.parts.ehr)?.fhir.repo.createResource({ resourceType: 'Patient', id: 'it-empty', name: [{ family: 'Empty', given: ['Record'] }], birthDate: '1970-01-01' }, { assignedId: true });
    const page = await standaloneReview('it-empty');
    expect(await page.locator('#load-conditions').innerText()).toContain('none on record');
    expect(await page.locator('#orders-body').innerText()).toContain('No order to review.');
    const summary = await page.locator('#summary-text').inputValue();
    expect(summary).toContain('[MISSING: active diagnosis]');
    expect(summary).toContain('[MISSING: implanted pump Device]');
    await page.close();
  });

  it('orders that differ on a per-order criterion get a row each, and the summary marks the unmet one', async () => {
    // The baclofen patient's record shows spasticity only; a pended morphine order beside the baclofen refill has no
    // pain diagnosis to treat.
    const repo = (await svc.built.parts.ehr)?.fhir.repo;
    const morphine = await repo?.createResource({
      resourceType: 'MedicationRequest',
      id: 'it-e2e-morphine',
      status: 'draft',
      intent: 'order',
      subject: { reference: 'Patient/it-var-baclofen' },
      medicationCodeableConcept: { coding: [{ system: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'J2274' }], text: 'Morphine PF 10 mg/mL' },
      dosageInstruction: [{ route: { coding: [{ system: 'http://snomed.info/sct', code: '72607000' }] } }],
    }, { assignedId: true });
    try {
      const page = await standaloneReview('it-var-baclofen');
      const rows = (await page.locator('#policy-body').innerText()).split('\n').filter((line) => line.includes('an active diagnosis the order treats'));
      expect(rows).toHaveLength(2);
      expect(rows.find((r) => r.includes('MedicationRequest/it-e2e-morphine'))).toBeDefined();
      expect(rows.find((r) => r.includes('MedicationRequest/it-var-draft-baclofen'))).toBeDefined();
      expect(await page.locator('#policy-body').innerText()).toMatch(/Not met\s*The record holds an active diagnosis the order treats[^\n]*MedicationRequest\/it-e2e-morphine/);
      expect(await page.locator('#summary-text').inputValue()).toMatch(/\(MedicationRequest\/it-e2e-morphine[^\n]*\): \[MISSING: not shown in the record\]/);
      await page.close();
    } finally {
      if (morphine) await repo?.deleteResource('MedicationRequest', 'it-e2e-morphine');
    }
  });

  it.each([
    ['relative', (_base: string) => 'Medication/it-e2e-lorazepam'],
    ["absolute on the EHR's FHIR base", (base: string) => `${base}/fhir/Medication/it-e2e-lorazepam`],
  ])("a prescription on record whose drug is only a referenced Medication (%s) is read with the patient's token and judged", async (_kind, referenceOn) => {
    // An active lorazepam prescription sent the way EHRs store it: a reference to a Medication, no display.
    const repo = (await svc.built.parts.ehr)?.fhir.repo;
    const medication = await repo?.createResource({ resourceType: 'Medication', id: 'it-e2e-lorazepam', code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '197901', display: 'lorazepam 1 MG Oral Tablet' }] } }, { assignedId: true });
    const prescription = await repo?.createResource({
      resourceType: 'MedicationRequest',
      id: 'it-e2e-lorazepam-rx',
      status: 'active',
      intent: 'order',
      authoredOn: '2026-09-01',
      subject: { reference: 'Patient/it-seed-a' },
      medicationReference: { reference: referenceOn(svc.baseUrl) },
    }, { assignedId: true });
    try {
      const page = await openReview('it-seed-a');
      const text = await page.locator('body').innerText();
      expect(text).toContain('Intrathecal opioid with an active sedative');
      await page.close();
    } finally {
      if (prescription) await repo?.deleteResource('MedicationRequest', 'it-e2e-lorazepam-rx');
      if (medication) await repo?.deleteResource('Medication', 'it-e2e-lorazepam');
    }
  });

  it('a denied authorization says so', async () => {
    const page = await browser.newPage();
    await launchFromEhr(page, svc, 'it-seed-a');
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForURL(/\/app\/index\.html/);
    await expect.poll(() => page.locator('#alert').innerText()).toContain('Authorization was denied');
    await screenshot(page, 'smart-app-denied');
    await page.close();
  });

  it('a resource type the EHR did not grant (403) is named, and its criteria become "not known"', async () => {
    const page = await browser.newPage();
    await launchFromEhr(page, svc, 'it-seed-a');
    await allowAndWait(page, ['patient/Coverage.rs']);
    await waitForEvaluation(page);
    expect(await page.locator('#load-coverages').innerText()).toContain('did not grant this app access to coverage (HTTP 403)');
    expect(await page.locator('#alert').innerText()).toContain('Not available from the EHR: coverages');
    expect(await page.locator('#summary-text').inputValue()).toContain('Not available from the EHR when this was drafted: coverages.');
    await page.close();
  });

  it('a token that expires mid-session: saving says the session expired', async () => {
    const short = await start({ EHR_TOKEN_TTL_S: '4' });
    const page = await browser.newPage();
    try {
      await launchFromEhr(page, short, 'it-seed-a');
      await allowAndWait(page);
      await waitForEvaluation(page);
      await page.waitForTimeout(5000);
      await page.getByRole('button', { name: 'Save to the chart' }).click();
      await expect.poll(() => page.locator('#save-status').innerText()).toContain('Your session with the EHR has expired');
      await screenshot(page, 'smart-app-expired');
    } finally {
      await page.close();
      await short.stop();
    }
  });
});

describe('the embedded FHIR server and SMART tokens', () => {
  it('refuses an invalid token with 401 and serves SMART discovery', async () => {
    const res = await fetch(`${svc.baseUrl}/fhir/Patient/it-seed-a`, { headers: { Authorization: 'Bearer not-a-token' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('invalid_token');
    const config = (await (await fetch(`${svc.baseUrl}/fhir/.well-known/smart-configuration`)).json()) as { capabilities: string[]; code_challenge_methods_supported: string[] };
    expect(config.capabilities).toEqual(expect.arrayContaining(['launch-ehr', 'launch-standalone', 'client-public', 'context-ehr-patient', 'permission-v2']));
    expect(config.code_challenge_methods_supported).toEqual(['S256']);
  });
});
