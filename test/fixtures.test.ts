import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFixtureRequests, formatFixture } from '../scripts/fixture-requests.js';
import { startService } from './support/harness.js';
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

  describe('prefetch equals what the embedded FHIR server answers for the same templates', () => {
    let svc: RunningService;
    beforeAll(async () => {
      svc = await startService();
    });
    afterAll(() => svc.stop());

    it.each(['seed-a', 'seed-b'])('%s', async (seed) => {
      const request = JSON.parse(readFileSync(`fhir-fixtures/requests/${seed}.order-sign.json`, 'utf8')) as { prefetch: Record<string, { resourceType: string; id?: string; entry?: { resource: { id: string } }[] } | null> };
      const service = svc.built.parts.pipeline.services.get('intrathecal-order-sign')!;
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
