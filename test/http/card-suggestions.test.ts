/**
 * Cards that carry a suggestion (CDS Hooks 2.0 Suggestion and Action), as an EHR receives them: liposomal
 * bupivacaine in a pump mix, or single-dose morphine ordered for a pump, gets "cancel this order" (a delete of that
 * order), an S9328 order for a Medicare
 * fee-for-service patient gets "replace it with the 95990 service" (a delete and a create for the same patient).
 * Each suggestion has its own uuid, the card says at most one may be taken, and the service takes the EHR's
 * feedback that it was accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, fixtureRequest, startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';

let svc: RunningService;
beforeAll(async () => {
  svc = await startService({ EMBEDDED_FHIR: 'false' }, { clock: () => new Date('2026-11-20T15:00:00Z') });
});
afterAll(() => svc.stop());

interface Card {
  readonly uuid: string;
  readonly summary: string;
  readonly selectionBehavior?: string;
  readonly suggestions?: { uuid: string; label: string; isRecommended?: boolean; actions?: { type: string; description: string; resourceId?: string; resource?: Record<string, unknown> }[] }[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function cardOf(fixture: string, starts: string): Promise<Card> {
  const res = await call(svc, 'POST', '/cds-services/intrathecal-order-sign', fixtureRequest(fixture));
  expect(res.status).toBe(200);
  const card = (res.body['cards'] as Card[]).find((c) => c.summary.startsWith(starts));
  if (!card) throw new Error(`no card "${starts}" for ${fixture}`);
  return card;
}

describe('a card with a suggestion', () => {
  it('asks to cancel an order naming liposomal bupivacaine, and nothing more', async () => {
    const card = await cardOf('seed-b-exparel.order-sign.json', 'Liposomal bupivacaine (EXPAREL) is not for intrathecal');
    expect(card.selectionBehavior).toBe('at-most-one');
    expect(card.suggestions).toEqual([
      {
        uuid: expect.stringMatching(UUID) as string,
        label: 'Cancel this order, then order the mix with plain preservative-free bupivacaine',
        isRecommended: true,
        actions: [{ type: 'delete', description: 'Remove the order naming liposomal bupivacaine, which is not for intrathecal or pump use', resourceId: 'MedicationRequest/it-seed-b-draft-mix' }],
      },
    ]);
    expect(card.suggestions?.[0]?.uuid).not.toBe(card.uuid);
  });

  it('asks to cancel a single-dose morphine order for a pump, without recommending it outright', async () => {
    // Seed A's refill ordered as Duramorph 1 mg/mL (RxNorm 892489) instead of Infumorph.
    const body = fixtureRequest('seed-a.order-sign.json');
    const entries = (body['context'] as { draftOrders: { entry: { resource: Record<string, unknown> }[] } }).draftOrders.entry;
    const drug = entries.find((e) => e.resource['id'] === 'it-seed-a-draft-morphine');
    if (!drug) throw new Error("seed A's drug order is missing");
    drug.resource['medicationCodeableConcept'] = { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '892489' }], text: 'Duramorph 1 mg/mL' };
    const res = await call(svc, 'POST', '/cds-services/intrathecal-order-sign', body);
    const card = (res.body['cards'] as Card[]).find((c) => c.summary.startsWith('Duramorph (0.5 or 1 mg/mL) is a single-dose'));
    expect(card?.selectionBehavior).toBe('at-most-one');
    expect(card?.suggestions).toEqual([
      {
        uuid: expect.stringMatching(UUID) as string,
        label: 'Cancel this order, then order Infumorph or Mitigo for the pump refill',
        actions: [{ type: 'delete', description: 'Remove the order for single-dose preservative-free morphine, which is not a pump refill drug', resourceId: 'MedicationRequest/it-seed-a-draft-morphine' }],
      },
    ]);
  });

  it("replaces a Medicare patient's S9328 order with the 95990 service for the same patient", async () => {
    const card = await cardOf('medicare-ffs.order-sign.json', 'Medicare does not pay S-codes');
    expect(card.selectionBehavior).toBe('at-most-one');
    const [suggestion] = card.suggestions ?? [];
    expect(suggestion?.actions?.map((a) => a.type)).toEqual(['delete', 'create']);
    expect(suggestion?.actions?.[0]?.resourceId).toBe('ServiceRequest/it-var-medicare-draft-s9328');
    expect(suggestion?.actions?.[1]?.resource).toMatchObject({
      resourceType: 'ServiceRequest',
      status: 'draft',
      intent: 'order',
      code: { coding: [{ system: 'http://www.ama-assn.org/go/cpt', code: '95990' }] },
      subject: { reference: 'Patient/it-var-medicare' },
    });
  });

  it('is taken back as accepted feedback naming the suggestion', async () => {
    const card = await cardOf('seed-b-exparel.order-sign.json', 'Liposomal bupivacaine (EXPAREL) is not for intrathecal');
    const feedback = { feedback: [{ card: card.uuid, outcome: 'accepted', acceptedSuggestions: [{ id: card.suggestions?.[0]?.uuid }], outcomeTimestamp: '2026-11-20T15:01:00Z' }] };
    expect((await call(svc, 'POST', '/cds-services/intrathecal-order-sign/feedback', feedback)).status).toBe(200);
    expect(await svc.built.parts.feedback.forCards([card.uuid])).toMatchObject([{ outcome: 'accepted', acceptedSuggestions: [{ id: card.suggestions?.[0]?.uuid }] }]);
  });
});
