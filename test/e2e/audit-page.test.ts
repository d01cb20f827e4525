/**
 * The audit log page as staff use it, in headless Chromium: the service answers real hook calls (seeds A and B, a
 * refused one), a reader made by the real `npm run audit:reader` types the token in, filters, pages, and sees what
 * each call was answered, whom it was about (name, birth date, MRN) and what the clinician did with each card; a wrong token is refused in words; what clients sent is shown as text, never run; every
 * read the page makes is recorded under the reader's name, the token appears in no URL, and the reads are listed. A
 * call answered without prefetch shows what the service read from the EHR (the embedded FHIR server).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredRead } from '../../src/store/audit-store.js';
import { addAuditReader, call, fixtureRequest, startService } from '../support/harness.js';
import type { Answer, RunningService } from '../support/harness.js';
import { launchBrowser, screenshot } from '../support/browser.js';
import { PACK_VERSION } from '../support/rules-copy.js';

const ORDER_SIGN = '/cds-services/intrathecal-order-sign';
/** A patient id a sloppy or hostile client sent: recorded as sent, and shown as text. */
const MARKUP = '<img src=x onerror="window.__audited=1">';
const OVERRIDE = { system: 'https://example.org/override', code: 'handled', display: 'Handled by the PA team' };

const readersFile = join(mkdtempSync(join(tmpdir(), 'itcds-readers-')), 'readers.json');
let browser: Browser;
let svc: RunningService;
let token: string;
let seedA: Answer;
let seedB: Answer;

beforeAll(async () => {
  token = addAuditReader('pa-lead', readersFile);
  [browser, svc] = await Promise.all([launchBrowser(), startService({ EMBEDDED_FHIR: 'false', AUDIT_READERS_FILE: readersFile, STORE_PATH: ':memory:' }, { clock: () => new Date('2026-11-20T15:00:00Z') })]);
  // In this order: the newest (the refused call) comes first on the page.
  seedA = await call(svc, 'POST', ORDER_SIGN, fixtureRequest('seed-a.order-sign.json'));
  seedB = await call(svc, 'POST', ORDER_SIGN, fixtureRequest('seed-b.order-sign.json'));
  const refused = await call(svc, 'POST', ORDER_SIGN, { hook: 'order-sign', hookInstance: 'audit-page-refused', context: { patientId: MARKUP } });
  // The clinician overrode seed A's first card (feedback is not a hook call: it adds no row).
  const card = (seedA.body['cards'] as { uuid: string }[])[0]?.uuid;
  await call(svc, 'POST', `${ORDER_SIGN}/feedback`, { feedback: [{ card, outcome: 'overridden', overrideReason: { reason: OVERRIDE, userComment: 'peer-to-peer booked' }, outcomeTimestamp: '2026-11-20T15:05:00Z' }] });
  const statuses = [seedA.status, seedB.status, refused.status].join(' ');
  if (statuses !== '200 200 400') throw new Error(`the calls to audit were answered ${statuses}, not 200 200 400`);
});
afterAll(async () => {
  await browser?.close();
  await svc?.stop();
});

/** The page, opened as a person types its address (no trailing slash). */
async function openPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${svc.baseUrl}/audit`);
  return page;
}

async function show(page: Page, fields: { token?: string; patient?: string; count?: string }): Promise<void> {
  await page.locator('#token').fill(fields.token ?? token);
  await page.locator('#patient').fill(fields.patient ?? '');
  await page.locator('#count').fill(fields.count ?? '50');
  await page.getByRole('button', { name: 'Show the newest' }).click();
}

/** What each row shows, once the page has drawn the rows of `label`. */
async function rows(page: Page, label: RegExp): Promise<string[]> {
  await expect.poll(() => page.locator('#page-label').innerText()).toMatch(label);
  return page.locator('#calls-body tr').allInnerTexts();
}

/** What the service answered, as the page should say it: coverage per order, then each card. */
function answered(res: Answer): string[] {
  const cards = res.body['cards'] as { indicator: string; summary: string }[];
  const actions = res.body['systemActions'] as { resource: { resourceType: string; id: string } }[];
  return [...actions.map((a) => `Coverage: ${a.resource.resourceType}/${a.resource.id}: covered`), ...cards.map((c) => `${c.indicator}: ${c.summary}`)];
}

describe('the audit log page', () => {
  it("shows one patient's calls with what each was answered, once the reader's token is typed in", async () => {
    const page = await openPage();
    expect(new URL(page.url()).pathname).toBe('/audit/');
    // The Service filter lists what discovery offers.
    const services = (await call(svc, 'GET', '/cds-services')).body['services'] as { id: string }[];
    const options = await Promise.all((await page.locator('#service option').all()).map((o) => o.getAttribute('value')));
    expect(options).toEqual(['', ...services.map((s) => s.id)]);
    await show(page, { patient: 'it-seed-a' });
    const [row, ...others] = await rows(page, /page 1, 1 call\b/);
    expect(others).toEqual([]);
    expect(row).toContain('intrathecal-order-sign');
    expect(row).toContain(`rules intrathecal@${PACK_VERSION}`);
    expect(row).toContain('2026-11-20 15:00:00 UTC');
    // Whom it was about, as staff know the patient: from the prefetched Patient.
    expect(row).toContain('it-seed-a\nAvery Seedcase, born 1961-04-12, SYNTH-A-0001');
    // Seed A: both orders covered (the established pump), and every card the clinician saw, with what they did.
    for (const line of answered(seedA)) expect(row).toContain(line);
    const [first, second] = answered(seedA).filter((l) => !l.startsWith('Coverage: '));
    expect(row).toContain(`${String(first)} [clinician: overridden: ${OVERRIDE.display}, "peer-to-peer booked"]`);
    expect(row).not.toContain(`${String(second)} [clinician`);
    expect(answered(seedA).length).toBeGreaterThan(2);
    // The bodies as recorded, written out when opened.
    await page.locator('#calls-body details summary').first().click();
    expect(await page.locator('#calls-body pre').first().innerText()).toContain('"hookInstance"');
    await screenshot(page, 'audit-page-seed-a');
    await page.close();
  });

  it('pages from the newest to the oldest and back, and shows what clients sent as text', async () => {
    const page = await openPage();
    await show(page, { count: '1' });
    const [refused] = await rows(page, /page 1, 1 call\b/);
    expect(refused).toContain(MARKUP);
    expect(refused).toContain('400');
    expect(await page.evaluate('window.__audited')).toBeUndefined();
    await page.getByRole('button', { name: 'Older', exact: true }).click();
    const [b] = await rows(page, /page 2\b/);
    for (const line of answered(seedB)) expect(b).toContain(line);
    expect(b).toContain('it-seed-b');
    await page.getByRole('button', { name: 'Older', exact: true }).click();
    expect((await rows(page, /page 3\b/))[0]).toContain('it-seed-a');
    await page.getByRole('button', { name: 'Newer', exact: true }).click();
    expect((await rows(page, /page 2\b/))[0]).toContain('it-seed-b');
    await page.close();
  });

  it('narrows a day to the minute with the time of day beside it, in UTC as the labels say', async () => {
    const page = await openPage();
    await page.locator('#since').fill('2026-11-20');
    await page.locator('#until').fill('2026-11-20');
    // Every call was received at 15:00:00 UTC: before 15:00 there is none, before 15:01 all three.
    await page.locator('#until-time').fill('15:00');
    await show(page, {});
    expect(await rows(page, /page 1, 0 calls/)).toEqual(['No calls match.']);
    await page.locator('#until-time').fill('15:01');
    await show(page, {});
    expect(await rows(page, /page 1, 3 calls/)).toHaveLength(3);
    const reads = (await call(svc, 'GET', '/audit/reads?reader=pa-lead&_count=2', undefined, { Authorization: `Bearer ${token}` })).body['entries'] as StoredRead[];
    expect(reads.map((r) => r.query)).toContain('/audit/hook-invocations?since=2026-11-20&until=2026-11-20T15%3A01%3A00Z&_count=50');
    await page.close();
  });

  it('says in words why a wrong token was refused, and every read is recorded without the token in any URL', async () => {
    const readsNow = async (): Promise<StoredRead[]> => (await call(svc, 'GET', '/audit/reads?_count=200', undefined, { Authorization: `Bearer ${token}` })).body['entries'] as StoredRead[];
    const pageReads = (reads: StoredRead[], outcome: string): number => reads.filter((r) => r.outcome === outcome && r.query.startsWith('/audit/hook-invocations')).length;
    const before = await readsNow();
    const page = await openPage();
    await show(page, { token: 'not-a-reader-token' });
    await expect.poll(() => page.locator('#alert').innerText()).toContain('The token was not accepted');
    expect(await page.locator('#calls-body').innerText()).toContain('Enter your token');
    await show(page, { patient: 'it-seed-b' });
    await rows(page, /page 1, 1 call\b/);
    const reads = await readsNow();
    // This test's two reads through the page: one refused (no reader), one allowed under the reader's name.
    expect(pageReads(reads, 'refused') - pageReads(before, 'refused')).toBe(1);
    expect(pageReads(reads, 'allowed') - pageReads(before, 'allowed')).toBe(1);
    expect(reads[0]).toMatchObject({ reader: 'pa-lead', outcome: 'allowed', query: '/audit/hook-invocations?patient=it-seed-b&_count=50', rows: 1 });
    expect(JSON.stringify(reads)).not.toContain(token);
    expect(page.url()).not.toContain(token);
    // The reads, on the page too, newest first: the test's own just above (a read lists those before it), then the
    // page's, the refused one among them.
    await page.locator('#token').fill(token);
    await page.locator('#reader').fill('');
    await page.getByRole('button', { name: 'Show the reads' }).click();
    await expect.poll(() => page.locator('#reads-label').innerText()).toMatch(/^\(page 1, \d+ reads?\)$/);
    const shown = await page.locator('#reads-body tr').allInnerTexts();
    expect(shown.length).toBe(Math.min(reads.length + 1, 50));
    expect(shown[0]).toMatch(/pa-lead\s+\S+\s+allowed\s+\/audit\/reads\?_count=200\s/);
    expect(shown.some((r) => /\(no valid token\)\s+\S+\s+refused/.test(r))).toBe(true);
    await page.locator('#reader').fill('someone-who-never-read');
    await page.getByRole('button', { name: 'Show the reads' }).click();
    await expect.poll(() => page.locator('#reads-label').innerText()).toBe('(page 1, 0 reads)');
    await page.close();
  });

  it('pages through the reads of the log, 50 at a time, older and back', async () => {
    // Enough reads for a second page: each GET of the log is one.
    for (let i = 0; i < 55; i++) await call(svc, 'GET', `/audit/reads?_count=1&since=2026-01-0${String((i % 9) + 1)}`, undefined, { Authorization: `Bearer ${token}` });
    const all = (await call(svc, 'GET', '/audit/reads?_count=200', undefined, { Authorization: `Bearer ${token}` })).body['entries'] as StoredRead[];
    const page = await openPage();
    await page.locator('#token').fill(token);
    await page.getByRole('button', { name: 'Show the reads' }).click();
    await expect.poll(() => page.locator('#reads-label').innerText()).toBe('(page 1, 50 reads)');
    const first = await page.locator('#reads-body tr').allInnerTexts();
    expect(await page.getByRole('button', { name: 'Newer reads' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Older reads' }).click();
    await expect.poll(() => page.locator('#reads-label').innerText()).toMatch(/^\(page 2, \d+ reads?\)$/);
    const second = await page.locator('#reads-body tr').allInnerTexts();
    // Page 1 is the test's read of the whole list, then that list's first 49; page 2 goes on from the 50th.
    const asked = (row: string | undefined) => row?.split('\t')[4];
    expect(asked(first[49])).toBe(all[48]?.query);
    expect(asked(second[0])).toBe(all[49]?.query);
    expect(all[48]?.query).not.toBe(all[49]?.query);
    await page.getByRole('button', { name: 'Newer reads' }).click();
    await expect.poll(() => page.locator('#reads-label').innerText()).toBe('(page 1, 50 reads)');
    // Page 1 again, read anew: the reads of page 2 and of page 1 came before it, at its top.
    expect((await page.locator('#reads-body tr').allInnerTexts())[2]).toBe(first[0]);
    await page.close();
  });

  it('names the suggestion a clinician accepted beside its card', async () => {
    const other = await startService({ EMBEDDED_FHIR: 'false', AUDIT_READERS_FILE: readersFile, STORE_PATH: ':memory:' }, { clock: () => new Date('2026-11-20T15:00:00Z') });
    try {
      const signed = await call(other, 'POST', ORDER_SIGN, fixtureRequest('medicare-ffs.order-sign.json'));
      const card = (signed.body['cards'] as { uuid: string; summary: string; suggestions?: { uuid: string; label: string }[] }[]).find((c) => c.suggestions);
      const accepted = { card: card?.uuid, outcome: 'accepted', acceptedSuggestions: [{ id: card?.suggestions?.[0]?.uuid }], outcomeTimestamp: '2026-11-20T15:02:00Z' };
      expect((await call(other, 'POST', `${ORDER_SIGN}/feedback`, { feedback: [accepted] })).status).toBe(200);
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(`${other.baseUrl}/audit/`);
      await show(page, {});
      const [row] = await rows(page, /page 1, 1 call\b/);
      expect(row).toContain(`warning: ${String(card?.summary)} [clinician: accepted: Replace the S9328 per-diem order with a pump refill and maintenance service (95990)]`);
      expect(row).toContain('Jordan Variation, born 1950-08-03, SYNTH-M-0003');
      // A sloppy client's prefetch that holds another patient than the call's: the page names nobody rather than them.
      const mixed = fixtureRequest('medicare-ffs.order-sign.json') as { context: Record<string, unknown> };
      await call(other, 'POST', ORDER_SIGN, { ...mixed, context: { ...mixed.context, patientId: 'it-var-other' } });
      // The page before also said "page 1, 1 call": wait for this search's row, not the label.
      const rowOf = async (patient: string): Promise<string> => {
        await show(page, { patient });
        await expect.poll(async () => (await page.locator('#calls-body tr').allInnerTexts()).join('\n')).toContain(`\t${patient}`);
        const [only, ...more] = await rows(page, /page 1, 1 call\b/);
        expect(more).toEqual([]);
        return only ?? '';
      };
      const otherRow = await rowOf('it-var-other');
      expect(otherRow).toContain('it-var-other');
      expect(otherRow).not.toContain('Jordan Variation');
      // A Patient not shaped as FHIR says (identifier an object, name a string): what can be read is shown, the page stands.
      const sloppy = { ...mixed, context: { ...mixed.context, patientId: 'it-var-sloppy' }, prefetch: { patient: { resourceType: 'Patient', id: 'it-var-sloppy', identifier: { value: 'X-1' }, name: 'Sam', birthDate: '1970-01-02' } } };
      await call(other, 'POST', ORDER_SIGN, sloppy);
      const sloppyRow = await rowOf('it-var-sloppy');
      expect(sloppyRow).toContain('it-var-sloppy\nborn 1970-01-02');
      await page.close();
    } finally {
      await other.stop();
    }
  });

  it('shows what the service read from the EHR for a call without prefetch, each read and the record as read', async () => {
    const ehr = await startService({ AUDIT_READERS_FILE: readersFile, STORE_PATH: ':memory:' });
    try {
      const body = { ...fixtureRequest('seed-b.order-sign.no-prefetch.json'), fhirServer: `${ehr.baseUrl}/fhir` };
      expect((await call(ehr, 'POST', ORDER_SIGN, body)).status).toBe(200);
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(`${ehr.baseUrl}/audit/`);
      await show(page, {});
      const [row] = await rows(page, /page 1, 1 call\b/);
      const logged = await call(ehr, 'GET', '/audit/hook-invocations', undefined, { Authorization: `Bearer ${token}` });
      const fetched = (logged.body['entries'] as { fetched: { reads: { url: string }[] } }[])[0]?.fetched;
      expect(fetched?.reads.length).toBeGreaterThan(3);
      expect(row).toContain(`Read from the EHR: ${String(fetched?.reads.length)} reads`);
      // Whom it was about: from the Patient the service read.
      expect(row).toContain('it-seed-b\nBlake Seedcase, born 1958-09-30, SYNTH-B-0002');
      expect(row).not.toContain('failed');
      const summary = page.locator('#calls-body details summary', { hasText: 'Read from the EHR' });
      await summary.click();
      const listed = await page.locator('#calls-body details[open] li').allInnerTexts();
      expect(listed).toHaveLength(fetched?.reads.length ?? 0);
      expect(listed).toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`^HTTP 200 ${ehr.baseUrl}/fhir/Patient/it-seed-b \\([\\d.]+ ms\\)$`))]));
      expect(await page.locator('#calls-body details[open] pre').innerText()).toContain('"resourceType": "Condition"');
      await screenshot(page, 'audit-page-read-from-ehr');
      // Saved for a dispute's file: the call as the log gave it, what was read from the EHR included.
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Save this call (JSON)' }).click()]);
      const entry = (logged.body['entries'] as { requestId: string }[])[0];
      expect(download.suggestedFilename()).toBe(`hook-call-${String(entry?.requestId)}.json`);
      expect(JSON.parse(readFileSync(await download.path(), 'utf8'))).toEqual(entry);
      await page.close();
    } finally {
      await ehr.stop();
    }
  });
});
