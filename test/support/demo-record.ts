/**
 * A small record and draft orders for the demo rule pack (test/packs/demo): an established pump with a chronic
 * pain diagnosis and a pain score, and J2274 orders of a chosen number of units over a year. Engine and card tests
 * build their evaluation contexts from it.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { EvaluationContext } from '../../src/engine/evaluate.js';

const patient: Resource = { resourceType: 'Patient', id: 'p' };
const pain: Resource = { resourceType: 'Condition', id: 'c1', subject: { reference: 'Patient/p' }, clinicalStatus: { coding: [{ code: 'active' }] }, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'G89.4' }] } };
const score: Resource = { resourceType: 'Observation', id: 'ob1', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '72514-3' }] }, valueInteger: 3 };
const pump: Resource = { resourceType: 'Device', id: 'd1', status: 'active', type: { text: 'Implanted intrathecal pump' } };

/**
 * A draft J2274 order (10 mg per unit) over 365 days.
 * @param id - its id.
 * @param units - billing units.
 * @returns the MedicationRequest.
 */
export const demoOrder = (id: string, units: number): Resource => ({
  resourceType: 'MedicationRequest',
  id,
  status: 'draft',
  intent: 'order',
  subject: { reference: 'Patient/p' },
  medicationCodeableConcept: { coding: [{ system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'J2274' }] },
  dispenseRequest: { quantity: { value: units }, expectedSupplyDuration: { value: 365 } },
});

/**
 * An order-sign context over the demo record, judging the orders given (480 and 960 units unless said).
 * @param over - fields to replace.
 * @param orders - the draft orders, all judged.
 * @returns the context.
 */
export function demoContext(over: Partial<EvaluationContext> = {}, orders: Resource[] = [demoOrder('o1', 480), demoOrder('o2', 960)]): EvaluationContext {
  return {
    hook: 'order-sign',
    data: { patient: [patient], conditions: [pain], devices: [pump], medicationRequests: [], observations: [score], procedures: [], coverages: [] },
    draftOrders: orders,
    ordersToJudge: orders,
    now: new Date('2026-11-20T15:00:00Z'),
    ...over,
  };
}
