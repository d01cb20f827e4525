import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtureRequests, formatFixture } from '../scripts/fixture-requests.js';
import { coverageAnnotation, startService } from './support/harness.js';
import type { RunningService } from './support/harness.js';

describe('fhir-fixtures', () => {
  it('committed requests are exactly what `npm run fixtures` builds from the patients and orders', () => {
    const built = buildFixtureRequests('fhir-fixtures', 'cds-hooks');
    const committed = readdirSync('fhir-fixtures/requests').filter((f) => f.endsWith('.json')).sort();
    expect(committed).toEqual([...built.keys()].sort());
    for (const [name, body] of built) {
      expect(readFileSync(join('fhir-fixtures/requests', name), 'utf8'), `${name} drifted; run npm run fixtures`).toBe(formatFixture(body));
    }
  });

  describe('against the embedded FHIR server of npm start', () => {
    let svc: RunningService;
    beforeAll(async () => {
      svc = await startService();
    });
    afterAll(() => svc.stop());

    it.each(['seed-a', 'seed-b', 'baclofen-ms', 'baclofen-cp', 'exparel'])("the order-dispatch and appointment-book examples of %s are answered with each order's coverage information", async (seed) => {
      for (const [hook, expected] of [['order-dispatch', 'dispatchedOrders'], ['appointment-book', 'appointments']] as const) {
        const request = JSON.parse(readFileSync(`fhir-fixtures/requests/${seed}.${hook}.json`, 'utf8')) as { context: Record<string, unknown> };
        // As an integrator sends them to `npm start`: the orders are read from its embedded FHIR server.
        const res = await fetch(`${svc.baseUrl}/cds-services/intrathecal-${hook}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...request, fhirServer: `${svc.baseUrl}/fhir` }) });
        expect(res.status, hook).toBe(200);
        const body = (await res.json()) as { systemActions?: { resource: { resourceType: string; id: string; extension?: { url: string }[] } }[] };
        const named = expected === 'dispatchedOrders' ? (request.context[expected] as string[]) : ((request.context[expected] as { entry: { resource: { resourceType: string; id: string } }[] }).entry.map((e) => `${e.resource.resourceType}/${e.resource.id}`));
        expect((body.systemActions ?? []).map((a) => `${a.resource.resourceType}/${a.resource.id}`), hook).toEqual(named);
        for (const a of body.systemActions ?? []) expect(coverageAnnotation(a.resource)['covered'], hook).toBeDefined();
      }
    });

    it.each(['seed-a', 'seed-b'])("%s's prefetch equals what the server answers for the same templates", async (seed) => {
      const request = JSON.parse(readFileSync(`fhir-fixtures/requests/${seed}.order-sign.json`, 'utf8')) as { prefetch: Record<string, { resourceType: string; id?: string; entry?: { resource: { id: string } }[] } | null> };
      const service = svc.built.parts.rules.current.pipeline.services.get('intrathecal-order-sign')!;
      for (const key of service.prefetch) {
        const query = key.parsed.template.replace('{{context.patientId}}', seed === 'seed-a' ? 'it-seed-a' : 'it-seed-b');
        const answer = (await (await fetch(`${svc.baseUrl}/fhir/${query}`)).json()) as { resourceType: string; id?: string; entry?: { resource: { id: string } }[] };
        // An empty searchset may leave out `entry`.
        const ids = (v: typeof answer | null) => (v?.resourceType === 'Bundle' ? (v.entry ?? []).map((e) => e.resource.id).sort() : [v?.id]);
        expect(ids(request.prefetch[key.key] ?? null), key.key).toEqual(ids(answer));
      }
    });
  });
});
