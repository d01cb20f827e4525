/**
 * The SMART app launched in a real browser from the embedded EHR, shared by the end-to-end tests: a service on a
 * port of its own (its public URL the browser reaches), the launch from the EHR's launcher, the consent, and the
 * evaluation shown.
 */
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchBrowser } from './browser.js';
import { freePort, startService } from './harness.js';
import type { RunningService } from './harness.js';

/**
 * A service for a browser: on a free port, PUBLIC_BASE_URL set to it, an in-memory store, the seeds' date.
 * @param env - more settings.
 * @returns the running service.
 */
export async function startForBrowser(env: Record<string, string> = {}): Promise<RunningService> {
  const port = await freePort();
  return startService({ PORT: String(port), PUBLIC_BASE_URL: `http://127.0.0.1:${port}`, STORE_PATH: ':memory:', ...env }, { clock: () => new Date('2026-11-20T15:00:00Z') });
}

/**
 * Starts Chromium and a service before a file's tests (handing both to `set`), and stops them after.
 * @param set - receives the browser and the service.
 */
export function withBrowserAndService(set: (browser: Browser, svc: RunningService) => void): void {
  let browser: Browser | undefined;
  let svc: RunningService | undefined;
  beforeAll(async () => {
    browser = await launchBrowser();
    svc = await startForBrowser();
    set(browser, svc);
  });
  afterAll(async () => {
    await browser?.close();
    await svc?.stop();
  });
}

/** From the EHR launcher to the consent page, for a patient. */
export async function launchFromEhr(page: Page, service: RunningService, patient: string): Promise<void> {
  await page.goto(`${service.baseUrl}/ehr/launcher`);
  await page.locator(`form[action="/ehr/launch"]:has(input[value="${patient}"]) button`).click();
  await page.waitForURL(/\/ehr\/authorize\//);
}

/** At the consent page: untick some scopes, allow, and wait for the app. */
export async function allowAndWait(page: Page, untick: string[] = []): Promise<void> {
  for (const scope of untick) await page.locator(`input[name="scope"][value="${scope}"]`).uncheck();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(/\/app\/index\.html/);
}

/** Waits until the app has evaluated the record (its summary can be edited). */
export async function waitForEvaluation(page: Page): Promise<void> {
  await page.waitForFunction("!document.getElementById('summary-text').disabled", undefined, { timeout: 15_000 });
}

/** A launch under way: at the consent page, allowed, the evaluation shown. */
export async function consentAndReview(page: Page): Promise<void> {
  await page.waitForURL(/\/ehr\/authorize\//);
  await allowAndWait(page);
  await waitForEvaluation(page);
}

/** A card on the embedded EHR's page opens the app with its SMART link: consent given, evaluation shown. */
export async function openAppFrom(card: Locator): Promise<void> {
  await card.getByRole('button', { name: 'Open the full review and the medical-necessity summary' }).click();
  await consentAndReview(card.page());
}
