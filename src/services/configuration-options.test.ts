import { describe, expect, it } from 'vitest';
import { CARD_TYPES } from '../cards/card-types.js';
import { loadRulePacks } from '../engine/rule-packs.js';
import type { RulePack } from '../engine/pack-types.js';
import { configurationOptionsFor } from './configuration-options.js';

const packs = loadRulePacks('cds-hooks/packs', 'cds-hooks/schema');
const [demo] = loadRulePacks('test/packs', 'cds-hooks/schema') as [RulePack];

/** The card types of a hook's rules, worked out here from the rules themselves. */
function topicsOf(hook: 'order-sign' | 'order-select' | 'patient-view', from: readonly RulePack[]): Set<string> {
  return new Set(from.flatMap((p) => p.rules.filter((r) => r.card && r.hooks.includes(hook)).map((r) => r.card!.topic)));
}

describe('configurationOptionsFor', () => {
  it.each(['order-sign', 'order-select', 'patient-view'] as const)('%s: one option per card type of its rules, plus the service\'s own, in the value set\'s order', (hook) => {
    const options = configurationOptionsFor(hook, packs);
    const expected = new Set([...topicsOf(hook, packs), 'guideline']);
    expect(new Set(options.map((o) => o.code))).toEqual(expected);
    const order = [...CARD_TYPES.keys()];
    expect(options.map((o) => order.indexOf(o.code))).toEqual(options.map((o) => order.indexOf(o.code)).sort((a, b) => a - b));
    for (const o of options) expect(o).toEqual({ code: o.code, type: 'boolean', name: CARD_TYPES.get(o.code)?.name, description: CARD_TYPES.get(o.code)?.description, default: true });
  });

  it('the hooks differ as their rules do (the demo pack: three rules, one type each)', () => {
    expect(configurationOptionsFor('order-sign', [demo]).map((o) => o.code)).toEqual(['coverage-info', 'clinical-reminder', 'guideline', 'off-guideline']);
    expect(configurationOptionsFor('order-select', [demo]).map((o) => o.code)).toEqual(['coverage-info', 'guideline']);
    expect(configurationOptionsFor('patient-view', [demo]).map((o) => o.code)).toEqual(['clinical-reminder', 'guideline']);
    expect(configurationOptionsFor('patient-view', []).map((o) => o.code)).toEqual(['guideline']);
  });

  it('names and descriptions are unique across the card types (CRD: unique within a service)', () => {
    const types = [...CARD_TYPES.values()];
    expect(new Set(types.map((t) => t.name)).size).toBe(types.length);
    expect(new Set(types.map((t) => t.description)).size).toBe(types.length);
  });
});
