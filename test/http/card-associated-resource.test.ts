/**
 * Each card about orders names them with Da Vinci CRD's `davinci-crd.associated-resource` card extension (local
 * references to the orders as sent), so an EHR can show a card beside the order it is about: seed A signs a drug
 * and its per-diem supplies, and cards about one name that one, a card about both names both; cards about the
 * patient name none.
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
  readonly summary: string;
  readonly extension?: Record<string, unknown>;
}

const associated = (cards: readonly Card[], starts: string) => cards.find((c) => c.summary.startsWith(starts))?.extension?.['davinci-crd.associated-resource'];

describe('the orders a card is about', () => {
  it('are named on it as CRD associated resources', async () => {
    const cards = (await call(svc, 'POST', '/cds-services/intrathecal-order-sign', fixtureRequest('seed-a.order-sign.json'))).body['cards'] as Card[];
    expect(associated(cards, 'Pump refill drug follows the established pump')).toEqual([{ reference: 'MedicationRequest/it-seed-a-draft-morphine' }]);
    expect(associated(cards, 'Pump supplies and refill services follow the established pump')).toEqual([{ reference: 'ServiceRequest/it-seed-a-draft-s9328' }]);
    expect(associated(cards, 'Prior authorization ended')).toEqual([{ reference: 'MedicationRequest/it-seed-a-draft-morphine' }, { reference: 'ServiceRequest/it-seed-a-draft-s9328' }]);
  });

  it('are none on a card about the patient', async () => {
    const body = fixtureRequest('seed-a.order-sign.json');
    const view = { hook: 'patient-view', hookInstance: body['hookInstance'], context: { userId: 'Practitioner/it-prac-1', patientId: 'it-seed-a' }, prefetch: body['prefetch'] };
    const cards = (await call(svc, 'POST', '/cds-services/intrathecal-patient-view', view)).body['cards'] as Card[];
    expect(cards.length).toBeGreaterThan(0);
    expect(cards.every((c) => c.extension === undefined)).toBe(true);
  });
});
