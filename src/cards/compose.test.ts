import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import type { EvaluationContext, Finding } from '../engine/evaluate.js';
import { evaluatePack } from '../engine/evaluate.js';
import type { RulePack } from '../engine/pack-types.js';
import { loadRulePacks } from '../engine/rule-packs.js';
import { cardGroups, composeCard } from './compose.js';

const [loaded] = loadRulePacks('test/packs', 'cds-hooks/schema') as [RulePack];

/** The demo pack with its dose-ceiling card combining orders, and a detail that names them. */
function combining(pack: RulePack): RulePack {
  const rules = pack.rules.map((r) =>
    r.id === 'demo-dose-ceiling' && r.card ? { ...r, card: { ...r.card, combineOrders: true, detail: 'Orders: {{order}}. References: {{orderReference}}.' } } : r
  );
  return { ...pack, rules };
}

const pain: Resource = { resourceType: 'Condition', id: 'c1', subject: { reference: 'Patient/p' }, clinicalStatus: { coding: [{ code: 'active' }] }, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'G89.4' }] } };
const pump: Resource = { resourceType: 'Device', id: 'd1', status: 'active', type: { text: 'Implanted intrathecal pump' } };
const order = (id: string, units: number): Resource => ({
  resourceType: 'MedicationRequest',
  id,
  status: 'draft',
  intent: 'order',
  subject: { reference: 'Patient/p' },
  medicationCodeableConcept: { coding: [{ system: 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets', code: 'J2274' }] },
  dispenseRequest: { quantity: { value: units }, expectedSupplyDuration: { value: 365 } },
});

function findings(pack: RulePack, orders: Resource[]): Finding[] {
  const ctx: EvaluationContext = {
    hook: 'order-sign',
    data: { patient: [{ resourceType: 'Patient', id: 'p' }], conditions: [pain], devices: [pump], observations: [] },
    draftOrders: orders,
    ordersToJudge: orders,
    now: new Date('2026-11-20T15:00:00Z'),
  };
  return evaluatePack(pack, ctx).findings.filter((f) => f.rule.id === 'demo-dose-ceiling');
}

const options = (pack: RulePack) => ({ packs: new Map([[pack.id, pack]]), publicBaseUrl: 'https://cds.example', uuid: () => 'u' });

describe('cardGroups and composeCard', () => {
  it('gives one card for the orders on which a combining rule says the same thing, naming every order', () => {
    const pack = combining(loaded);
    const fired = findings(pack, [order('o1', 960), order('o2', 960)]);
    expect(fired).toHaveLength(2);
    const groups = cardGroups(fired, options(pack));
    expect(groups.map((g) => g.map((f) => f.order?.id))).toEqual([['o1', 'o2']]);
    const card = composeCard(groups[0] ?? [], options(pack));
    expect(card?.summary).toBe('Demo: 26.3 mg/day is above 15 mg/day');
    expect(card?.detail).toMatch(/^Orders: MedicationRequest\/o1 [^;]*; MedicationRequest\/o2 [^.]*\. References: MedicationRequest\/o1, MedicationRequest\/o2\./);
  });

  it('keeps orders apart where the text differs, and every card apart for a rule that does not combine', () => {
    const pack = combining(loaded);
    const differing = cardGroups(findings(pack, [order('o1', 960), order('o2', 1200)]), options(pack));
    expect(differing.map((g) => g.map((f) => f.order?.id))).toEqual([['o1'], ['o2']]);
    const plain = cardGroups(findings(loaded, [order('o1', 960), order('o2', 960)]), options(loaded));
    expect(plain.map((g) => g.map((f) => f.order?.id))).toEqual([['o1'], ['o2']]);
    expect(composeCard(plain[1]?.[0] as Finding, options(loaded))?.summary).toBe('Demo: 26.3 mg/day is above 15 mg/day');
  });
});
