import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../engine/evaluate.js';
import { evaluatePack } from '../engine/evaluate.js';
import type { RulePack } from '../engine/pack-types.js';
import { loadRulePacks } from '../engine/rule-packs.js';
import { demoContext, demoOrder } from '../../test/support/demo-record.js';
import { cardGroups, composeCard } from './compose.js';

const [loaded] = loadRulePacks('test/packs', 'cds-hooks/schema') as [RulePack];

/** The demo pack with its dose-ceiling card combining orders, and a detail that names them. */
function combining(pack: RulePack): RulePack {
  const rules = pack.rules.map((r) =>
    r.id === 'demo-dose-ceiling' && r.card ? { ...r, card: { ...r.card, combineOrders: true, detail: 'Orders: {{order}}. References: {{orderReference}}.' } } : r
  );
  return { ...pack, rules };
}

function findings(pack: RulePack, orders: Resource[]): Finding[] {
  return evaluatePack(pack, demoContext({}, orders)).findings.filter((f) => f.rule.id === 'demo-dose-ceiling');
}

const options = (pack: RulePack) => ({ packs: new Map([[pack.id, pack]]), publicBaseUrl: 'https://cds.example', uuid: () => 'u' });

describe('cardGroups and composeCard', () => {
  it('gives one card for the orders on which a combining rule says the same thing, naming every order', () => {
    const pack = combining(loaded);
    const fired = findings(pack, [demoOrder('o1', 960), demoOrder('o2', 960)]);
    expect(fired).toHaveLength(2);
    const groups = cardGroups(fired, options(pack));
    expect(groups.map((g) => g.map((f) => f.order?.id))).toEqual([['o1', 'o2']]);
    const card = composeCard(groups[0] ?? [], options(pack));
    expect(card?.summary).toBe('Demo: 26.3 mg/day is above 15 mg/day');
    expect(card?.detail).toMatch(/^Orders: MedicationRequest\/o1 [^;]*; MedicationRequest\/o2 [^.]*\. References: MedicationRequest\/o1, MedicationRequest\/o2\./);
  });

  it('keeps orders apart where the text differs, and every card apart for a rule that does not combine', () => {
    const pack = combining(loaded);
    const differing = cardGroups(findings(pack, [demoOrder('o1', 960), demoOrder('o2', 1200)]), options(pack));
    expect(differing.map((g) => g.map((f) => f.order?.id))).toEqual([['o1'], ['o2']]);
    const plain = cardGroups(findings(loaded, [demoOrder('o1', 960), demoOrder('o2', 960)]), options(loaded));
    expect(plain.map((g) => g.map((f) => f.order?.id))).toEqual([['o1'], ['o2']]);
    expect(composeCard(plain[1]?.[0] as Finding, options(loaded))?.summary).toBe('Demo: 26.3 mg/day is above 15 mg/day');
  });
});
