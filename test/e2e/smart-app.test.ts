/**
 * The SMART app as it is used: a real EHR launch from the embedded EHR's launcher in headless Chromium, PKCE against
 * the real authorization server (oidc-provider), the record read with the issued token, the evaluation shown, the
 * summary edited and saved to the chart, and the DocumentReference found on the FHIR server afterwards. Also the
 * failure paths: a wrong iss, a denied authorization, a resource type not granted, a token that expires.
 */
import type { DocumentReference } from '@medplum/fhirtypes';
import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import type { RunningService } from '../support/harness.js';
import { screenshot } from '../support/browser.js';
import { allowAndWait, consentAndReview, launchFromEhr, startForBrowser as start, waitForEvaluation, withBrowserAndService } from '../support/smart-launch.js';

let browser: Browser;
let svc: RunningService;
withBrowserAndService((b, s) => {
  browser = b;
  svc = s;
});

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
    const pitfalls = await page.locator('#pitfalls-body').innerText();
    expect(pitfalls).toMatch(/Do not demand a new trial or psychological evaluation for an established, effective pump; the trial is a pre-implantation requirement\. \(CMS NCD 280\.14 Infusion Pumps \(confirmed\); /);
    expect(pitfalls).toContain('Do not apply oral morphine-equivalent (MME) limits to intrathecal doses. (CDC opioid prescribing decision support');
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
