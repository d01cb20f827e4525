/**
 * The generic runner over every rule's test cases: the packs the service loads (cds-hooks/packs) and the engine's
 * own demo pack (test/packs). Each case is a test; every card a case produces also passes the spec oracle.
 */
import { describe, expect, it } from 'vitest';
import { loadRulePacks } from '../../src/engine/rule-packs.js';
import { readCases, runCase } from '../../src/rule-cases/run-cases.js';
import { loadServiceDefinitions } from '../../src/services/service-definitions.js';
import { responseFailures } from '../support/spec-oracle.js';

const env = { services: loadServiceDefinitions('cds-hooks'), fixturesRoot: 'fhir-fixtures', schemaDir: 'cds-hooks/schema', publicBaseUrl: 'http://localhost:3000' };
const packs = [...loadRulePacks('cds-hooks/packs', 'cds-hooks/schema'), ...loadRulePacks('test/packs', 'cds-hooks/schema')];

describe.each(packs.map((p) => [p.id, p] as const))('rule pack %s', (_id, pack) => {
  describe.each(pack.rules.map((r) => [r.id, r] as const))('rule %s', (_ruleId, rule) => {
    const cases = readCases(rule, env.schemaDir) ?? [];

    it('has test cases where it fires and where it does not', () => {
      expect(cases.some((c) => c.expect.fires), `${rule.testsFile} needs a case where the rule fires`).toBe(true);
      expect(cases.some((c) => !c.expect.fires), `${rule.testsFile} needs a case where the rule does not fire`).toBe(true);
    });

    it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
      const outcome = runCase(pack, rule, c, env);
      expect(outcome.problems).toEqual([]);
      expect(responseFailures({ cards: outcome.cards })).toEqual([]);
    });
  });
});

describe('the runner reports a detail that holds what a case says it must not', () => {
  it('names the text and the finding', () => {
    const [intrathecal] = packs;
    const rule = intrathecal?.rules.find((r) => r.id === 'it-documentation-at-refill');
    if (!intrathecal || !rule) throw new Error('the intrathecal pack or its rule is missing');
    const input = { request: 'fhir-fixtures/requests/seed-a.order-sign.json' };
    const run = (detailLacks: string[]): readonly string[] => runCase(intrathecal, rule, { name: 'lacks', now: '2026-11-20T15:00:00Z', input, expect: { fires: true, findings: [{ detailLacks }] } }, env).problems;
    expect(run(['Baclofen is in this mix'])).toEqual([]);
    expect(run(['Pain score within the last 90 days'])).toEqual(['finding 0: detail has "Pain score within the last 90 days", which it should not']);
  });
});

describe('the runner refuses a case that names a prefetch key the hook service does not declare', () => {
  it('says which key, instead of quietly providing everything', () => {
    const [intrathecal] = packs;
    const rule = intrathecal?.rules.find((r) => r.id === 'it-new-start');
    if (!intrathecal || !rule) throw new Error('the intrathecal pack or its rule is missing');
    const run = (input: Record<string, unknown>): readonly string[] =>
      runCase(intrathecal, rule, { name: 'keys', now: '2026-11-20T15:00:00Z', input: { patient: 'seed-a', hook: 'order-sign', orders: 'seed-a', ...input }, expect: { fires: false } }, env).problems;
    expect(run({ unavailable: ['medicationAdministration'] })).toEqual(['the order-sign service declares no prefetch key medicationAdministration']);
    expect(run({ unfiltered: ['procedure', 'observations'] })).toEqual(['the order-sign service declares no prefetch key procedure']);
    expect(run({ unfiltered: ['medicationRequests'] })).toEqual([]);
  });

  it('refuses a required key as unavailable: the service answers 412 without it, so no rule runs and nothing is "not known"', () => {
    const [intrathecal] = packs;
    const rule = intrathecal?.rules.find((r) => r.id === 'it-new-start');
    if (!intrathecal || !rule) throw new Error('the intrathecal pack or its rule is missing');
    const run = (unavailable: string[]): readonly string[] =>
      runCase(intrathecal, rule, { name: 'required', now: '2026-11-20T15:00:00Z', input: { patient: 'seed-a', hook: 'order-sign', orders: 'seed-a', unavailable }, expect: { fires: false } }, env).problems;
    expect(run(['coverages', 'conditions', 'devices'])).toEqual(['the order-sign service requires conditions, devices: without it the service answers 412 and no rule runs; only optional keys can be unavailable']);
    expect(run(['coverages', 'procedures'])).toEqual([]);
  });
});

describe('the runner runs a case with deployment thresholds', () => {
  it('on a copy of the pack, leaving the pack and the next case with its own values', () => {
    const [intrathecal] = packs;
    const rule = intrathecal?.rules.find((r) => r.id === 'it-morphine-above-consensus');
    if (!intrathecal || !rule) throw new Error('the intrathecal pack or its rule is missing');
    const run = (thresholds?: Record<string, number>) =>
      runCase(intrathecal, rule, { name: 'thresholds', now: '2026-11-20T15:00:00Z', input: { request: 'fhir-fixtures/requests/seed-a.order-sign.json', ...(thresholds ? { thresholds } : {}) }, expect: { fires: false } }, env);
    const lowered = run({ morphineMaxDailyMg: 12 });
    expect(lowered.cards[0]?.detail).toContain('12 mg/day, set by this deployment');
    expect(run().fired).toBe(false);
    expect(intrathecal.thresholds.get('morphineMaxDailyMg')).toMatchObject({ value: 15, overridden: false });
    // At 13 the rule fires again, and its card says 13: nothing of the first copy is kept for the next.
    expect(run({ morphineMaxDailyMg: 13 }).cards[0]?.summary).toBe('Morphine 13.2 mg/day is above the PACC consensus maximum of 13 mg/day');
    expect(run({ morphineMaxDailyMg: 13 }).cards[0]?.detail).toContain('13 mg/day, set by this deployment');
    expect(run({ morphineMaxDailyMgs: 12 }).problems).toEqual(['the case sets thresholds the pack does not have: morphineMaxDailyMgs']);
    // A share of the pain cannot be over 100 %: the case is refused, as the start would refuse the deployment.
    expect(run({ responseReliefPct: 150 }).problems).toEqual(['the case sets threshold responseReliefPct set to 150 %, above the most it can be (100 %)']);
  });
});

describe('the runner reports a summary the wire would cut', () => {
  it('names its length and the text, in a case that expects nothing about the summary', () => {
    const [intrathecal] = packs;
    const rule = intrathecal?.rules.find((r) => r.id === 'it-pa-ends-before-order');
    if (!intrathecal || !rule?.card) throw new Error('the intrathecal pack or its rule is missing');
    const input = { request: 'fhir-fixtures/requests/seed-a-authorization-six-months.order-sign.json' };
    const run = (summary: string): readonly string[] => {
      const edited = { ...rule, card: { ...rule.card, summary } } as typeof rule;
      const pack = { ...intrathecal, rules: intrathecal.rules.map((r) => (r.id === rule.id ? edited : r)) };
      return runCase(pack, edited, { name: 'long', now: '2026-11-20T15:00:00Z', input, expect: { fires: true } }, env).problems;
    };
    expect(run(rule.card.summary)).toEqual([]);
    const long = `${'x'.repeat(130)} {{authorizedThrough}}`;
    expect(run(long)).toEqual([`summary of 141 characters, which the wire cuts at 139: ${'x'.repeat(130)} 2027-05-17`]);
  });
});

describe('the runner requires a case that lists findings to list them all', () => {
  it('names the findings the case left out of its list', () => {
    const [intrathecal] = packs;
    const rule = intrathecal?.rules.find((r) => r.id === 'it-pa-other-payers');
    if (!intrathecal || !rule) throw new Error('the intrathecal pack or its rule is missing');
    const input = { request: 'fhir-fixtures/requests/seed-a.order-sign.json' };
    const run = (orders: string[]): readonly string[] =>
      runCase(intrathecal, rule, { name: 'complete', now: '2026-11-20T15:00:00Z', input, expect: { fires: true, findings: orders.map((order) => ({ order })) } }, env).problems;
    const morphine = 'MedicationRequest/it-seed-a-draft-morphine';
    const supplies = 'ServiceRequest/it-seed-a-draft-s9328';
    expect(run([morphine, supplies])).toEqual([]);
    expect(run([morphine])).toEqual([`2 findings (${morphine}, ${supplies}), but the case lists 1: list every finding the rule makes`]);
  });
});
