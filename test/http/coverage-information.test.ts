/**
 * Signing again after the EHR stored the coverage information: CRD payers SHALL NOT send the update system action
 * again unless something is new. The EHR's side is played as a CRD client does it: the resource of each update
 * action replaces the draft order it annotates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, fixtureRequest, startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';

let svc: RunningService;
beforeAll(async () => {
  svc = await startService({ EMBEDDED_FHIR: 'false' }, { clock: () => new Date('2026-11-20T15:00:00Z') });
});
afterAll(() => svc.stop());

const ORDER_SIGN = '/cds-services/intrathecal-order-sign';
const EXTENSION = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';

interface Resource {
  resourceType: string;
  id: string;
  extension?: { url: string; extension?: { url: string; valueCode?: string }[] }[];
}
interface Answer {
  cards: { summary: string }[];
  systemActions?: { type: string; resource: Resource }[];
}

async function sign(fixture: string, storedOrders?: Resource[]): Promise<Answer> {
  const body = fixtureRequest(fixture);
  delete body['fhirServer'];
  if (storedOrders) (body.context['draftOrders'] as { entry: { resource: Resource }[] }).entry = storedOrders.map((resource) => ({ resource }));
  const res = await call(svc, 'POST', ORDER_SIGN, body);
  expect(res.status, res.text).toBe(200);
  return res.body as unknown as Answer;
}

/** The draft orders as the EHR holds them after applying the answer's update actions. */
function applied(answer: Answer): Resource[] {
  return (answer.systemActions ?? []).filter((a) => a.type === 'update').map((a) => a.resource);
}

describe('coverage information already stored on the orders', () => {
  it('is not sent again when nothing is new; the cards are the same', async () => {
    const first = await sign('seed-a.order-sign.json');
    const stored = applied(first);
    expect(stored.map((r) => `${r.resourceType}/${r.id}`).sort()).toEqual(['MedicationRequest/it-seed-a-draft-morphine', 'ServiceRequest/it-seed-a-draft-s9328']);
    const again = await sign('seed-a.order-sign.json', stored);
    expect(again.systemActions).toBeUndefined();
    expect(again.cards.map((c) => c.summary)).toEqual(first.cards.map((c) => c.summary));
  });

  it('is sent again, replacing the stored one, when the conclusion changed (the renewal was not certified)', async () => {
    const stored = applied(await sign('seed-a.order-sign.json'));
    const changed = await sign('seed-a-renewal-not-certified.order-sign.json', stored);
    const annotations = applied(changed).map((r) => (r.extension ?? []).filter((e) => e.url === EXTENSION));
    expect(annotations).toHaveLength(2);
    for (const a of annotations) {
      expect(a).toHaveLength(1);
      expect(a[0]?.extension?.find((e) => e.url === 'pa-needed')?.valueCode).toBe('auth-needed');
    }
  });
});
