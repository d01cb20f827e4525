/**
 * Start-up of the development default: the hook endpoints answer while the embedded EHR (FHIR server, authorization
 * server, launcher) is still loading, its own routes wait for it instead of failing, and a failure to load it is
 * reported through `ready` (main.ts stops the process on it). Own file: the FHIR definitions are indexed once per
 * process, and this must see them unindexed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createHttpServer } from '../../src/http/server.js';
import { fixtureRequest, tempStorePath } from '../support/harness.js';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

describe('start-up with the embedded EHR', () => {
  it('answers a fully prefetched hook before the EHR is ready; the EHR routes wait and then answer', async () => {
    const built = buildApp(loadConfig({ NODE_ENV: 'test', PORT: '0', STORE_PATH: tempStorePath(), EMBEDDED_FHIR: 'true' }));
    let readyAt = Infinity;
    const ready = built.ready.then(() => (readyAt = performance.now()));
    const server = createHttpServer(built.app, 10_000);
    const base = await listen(server);
    try {
      const body = fixtureRequest('seed-a.order-sign.json');
      delete body['fhirServer'];
      const hook = fetch(`${base}/cds-services/intrathecal-order-sign`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then(async (res) => ({ status: res.status, cards: ((await res.json()) as { cards: unknown[] }).cards.length, at: performance.now() }));
      const metadata = fetch(`${base}/fhir/metadata`).then(async (res) => ({ status: res.status, type: ((await res.json()) as { resourceType: string }).resourceType, at: performance.now() }));
      const [h, m] = await Promise.all([hook, metadata, ready]);
      expect(h.status).toBe(200);
      expect(h.cards).toBeGreaterThan(0);
      expect(h.at).toBeLessThan(readyAt);
      expect(m).toMatchObject({ status: 200, type: 'CapabilityStatement' });
      expect(m.at).toBeGreaterThanOrEqual(readyAt);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await built.close();
    }
  }, 30_000);

  it('a fixture that cannot be read makes `ready` fail', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'itcds-bad-fixtures-'));
    writeFileSync(join(dir, 'broken.json'), '{"resourceType": "Bundle", "entry": [');
    const built = buildApp(loadConfig({ NODE_ENV: 'test', PORT: '0', STORE_PATH: tempStorePath(), EMBEDDED_FHIR: 'true', FHIR_FIXTURES_DIR: dir }));
    await expect(built.ready).rejects.toThrow(SyntaxError);
    await built.close();
  }, 30_000);

  it("lists a deployment's fixture patient whose narrative has no text (a Narrative without div): the launcher stands", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'itcds-odd-fixtures-'));
    const patient = (id: string, text: unknown) => ({ resourceType: 'Patient', id, name: [{ family: 'Odd', given: [id] }], text });
    writeFileSync(join(dir, 'odd.json'), JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [
      { resource: patient('no-div', { status: 'generated' }) },
      { resource: patient('with-div', { status: 'additional', div: '<div xmlns="http://www.w3.org/1999/xhtml">Shows &lt;this&gt; &#38; Tom&#x27;s</div>' }) },
    ] }));
    const built = buildApp(loadConfig({ NODE_ENV: 'test', PORT: '0', STORE_PATH: tempStorePath(), EMBEDDED_FHIR: 'true', FHIR_FIXTURES_DIR: dir }));
    const server = createHttpServer(built.app, 10_000);
    const base = await listen(server);
    try {
      await built.ready;
      const res = await fetch(`${base}/ehr/launcher`);
      const html = await res.text();
      expect(res.status).toBe(200);
      expect(html).toContain('Patient/no-div');
      expect(html).toContain('<span class="about">Shows &lt;this&gt; &amp; Tom&#39;s</span>');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await built.close();
    }
  }, 30_000);

  it('closes once when asked twice, as a cluster worker is by its primary and by a signal from the terminal', async () => {
    const built = buildApp(loadConfig({ NODE_ENV: 'test', PORT: '0', STORE_PATH: tempStorePath(), EMBEDDED_FHIR: 'false' }));
    await expect(Promise.all([built.close(), built.close()])).resolves.toEqual([undefined, undefined]);
    await expect(built.close()).resolves.toBeUndefined();
  });
});
