/**
 * The SMART app's dose lines: each drug's programmed and billed doses, and the order against the one of the same drug
 * written before it, as the app shows them and the draft summary carries them.
 */
import { describe, expect, it } from 'vitest';
import type { Resource } from '@medplum/fhirtypes';
import { loadRulePacks } from '../../src/engine/rule-packs.js';
import { evaluateForApp } from '../../src/smart/app-evaluation.js';
import { appRequestFrom } from '../support/app-request.js';

const packs = loadRulePacks('cds-hooks/packs', 'cds-hooks/schema');
const NOW = new Date('2026-11-20T15:00:00Z');

describe("the app's dose lines", () => {
  it('dose lines of a baclofen order are in mcg/day, with no morphine billing line', () => {
    const request = appRequestFrom('baclofen-ms.order-sign.json');
    const baclofen = (): { dose: readonly string[] } | undefined => evaluateForApp(packs, request, NOW, 'http://localhost:3000').orders.find((o) => o.reference.startsWith('MedicationRequest/'));
    const noUnits = 'Billed: the order carries no J0475 units with a supply duration to average over.';
    // The fixture's earlier order (2026-06-01) programmed 400 mcg/day too.
    const unchanged = 'Against the baclofen order of 2026-06-01: baclofen 400 mcg/day, unchanged, programmed doses.';
    expect(baclofen()?.dose).toEqual([noUnits, 'Programmed: baclofen 400 mcg/day.', unchanged]);

    // The same dose as a volume of a 2 mg/mL (2,000 mcg/mL) product.
    const order = request.orders.find((o) => o.resourceType === 'MedicationRequest') as unknown as Record<string, unknown>;
    order['contained'] = [{ resourceType: 'Medication', id: 'g', code: { text: 'Gablofen' }, ingredient: [{ itemCodeableConcept: { text: 'Baclofen' }, strength: { numerator: { value: 2, code: 'mg' }, denominator: { value: 1, code: 'mL' } } }] }];
    order['medicationReference'] = { reference: '#g' };
    delete order['medicationCodeableConcept'];
    const dosage = (order['dosageInstruction'] as Record<string, unknown>[])[0] as Record<string, unknown>;
    dosage['doseAndRate'] = [{ rateQuantity: { value: 0.2, unit: 'mL/d', system: 'http://unitsofmeasure.org', code: 'mL/d' } }];
    expect(baclofen()?.dose).toEqual([noUnits, 'Programmed: 0.2 mL/day including flex/bolus doses; baclofen 400 mcg/day.', unchanged]);

    // 0.3 mL/day of the same product is 600 mcg/day: the line says by how much, and the draft summary carries it.
    dosage['doseAndRate'] = [{ rateQuantity: { value: 0.3, unit: 'mL/d', system: 'http://unitsofmeasure.org', code: 'mL/d' } }];
    const raised = 'Against the baclofen order of 2026-06-01: baclofen 400 -> 600 mcg/day (+50 %), programmed doses.';
    expect(baclofen()?.dose).toContain(raised);
    expect(evaluateForApp(packs, request, NOW, 'http://localhost:3000').summary).toContain(raised);
  });

  it("dose lines compare the order's opioid doses with the intrathecal prescription written before it, and the summary carries them", () => {
    const request = appRequestFrom('seed-a.order-sign.json');
    const morphine = (): { dose: readonly string[] } | undefined => evaluateForApp(packs, request, NOW, 'http://localhost:3000').orders.find((o) => o.reference.startsWith('MedicationRequest/'));
    // Seed A bills 480 units of J2274 over 365 days now and in 2025.
    expect(morphine()?.dose).toContain('Against the order of 2025-11-18: morphine 13.2 mg/day, unchanged, billed averages.');

    // Programmed doses on both orders are what is compared then: 4 mg/day in 2025, 5 mg/day now.
    const rate = (value: number) => [{ route: { coding: [{ system: 'http://snomed.info/sct', code: '72607000' }] }, doseAndRate: [{ rateQuantity: { value, unit: 'mg/d', system: 'http://unitsofmeasure.org', code: 'mg/d' } }] }];
    const earlier = request.records['medicationRequests']?.find((r) => r.id === 'it-seed-a-mr-2025') as unknown as Record<string, unknown>;
    earlier['dosageInstruction'] = rate(4);
    (request.orders.find((o) => o.resourceType === 'MedicationRequest') as unknown as Record<string, unknown>)['dosageInstruction'] = rate(5);
    const line = 'Against the order of 2025-11-18: morphine 4 -> 5 mg/day (+25 %), programmed doses.';
    expect(morphine()?.dose).toContain(line);
    expect(evaluateForApp(packs, request, NOW, 'http://localhost:3000').summary).toContain(line);
  });

  it('dose lines set a ziconotide order against the ziconotide prescriptions on record and the label titration', () => {
    const request = appRequestFrom('seed-a-ziconotide-schizophrenia.order-sign.json');
    const ziconotide = (): readonly string[] => evaluateForApp(packs, request, NOW, 'http://localhost:3000').orders.find((o) => o.reference.startsWith('MedicationRequest/'))?.dose ?? [];
    // The fixture's order programs 1.2 mcg/day, and seed A has no ziconotide history.
    expect(ziconotide()).toContain('No earlier ziconotide order on record: the label starts at no more than 2.4 mcg/day.');

    // An earlier order of 2.4 mcg/day written three days before: two steps of 2.4 allowed, then the same dose.
    const order = request.orders.find((o) => o.resourceType === 'MedicationRequest') as unknown as Record<string, unknown>;
    const earlier = { ...structuredClone(order), id: 'z-earlier', status: 'completed', authoredOn: '2026-11-17' } as Record<string, unknown>;
    const rate = (value: number) => [{ doseAndRate: [{ rateQuantity: { value, unit: 'mcg/d', system: 'http://unitsofmeasure.org', code: 'ug/d' } }] }];
    earlier['dosageInstruction'] = rate(2.4);
    request.records['medicationRequests'] = [...(request.records['medicationRequests'] ?? []), earlier as unknown as Resource];
    order['dosageInstruction'] = rate(6);
    const line = 'Against the ziconotide order of 2026-11-17: 2.4 -> 6 mcg/day in 3 days; the label allows up to +4.8 mcg/day in that time.';
    expect(ziconotide()).toContain(line);
    expect(evaluateForApp(packs, request, NOW, 'http://localhost:3000').summary).toContain(line);
    order['dosageInstruction'] = rate(2.4);
    expect(ziconotide()).toContain('Against the ziconotide order of 2026-11-17: 2.4 mcg/day, unchanged.');
  });
});
