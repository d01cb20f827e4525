import type { MedicationRequest, Resource } from '@medplum/fhirtypes';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EvaluationContext } from './evaluate.js';
import { evaluatePack } from './evaluate.js';
import type { CompiledExpression, Criterion, RulePack } from './pack-types.js';
import { loadRulePacks } from './rule-packs.js';
import { demoContext, demoOrder } from '../../test/support/demo-record.js';

const [demo] = loadRulePacks('test/packs', 'cds-hooks/schema') as [RulePack];

const ctx = (over: Partial<EvaluationContext> = {}): EvaluationContext => demoContext(over);

/** The demo pack with every expression wrapped in a call counter. */
function counted(pack: RulePack): { pack: RulePack; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const wrap = (name: string, e: CompiledExpression | undefined): CompiledExpression | undefined =>
    e && {
      ...e,
      fn: (root, vars) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return e.fn(root, vars);
      },
    };
  const criteria = new Map<string, Criterion>(
    [...pack.criteria].map(([n, c]) => {
      const expression = wrap(n, c.expression);
      const evidence = wrap(`${n}.evidence`, c.evidence);
      const forOrder = wrap(`${n}.forOrder`, c.forOrder);
      return [n, { ...c, ...(expression ? { expression } : {}), ...(evidence ? { evidence } : {}), ...(forOrder ? { forOrder } : {}) }];
    })
  );
  return { pack: { ...pack, criteria }, calls };
}

describe('evaluatePack', () => {
  it('judges each order and fires per order, with the evidence that made the rule true', () => {
    const { findings } = evaluatePack(demo, ctx());
    expect(findings.map((f) => [f.rule.id, f.order?.id])).toEqual([
      ['demo-dose-ceiling', 'o2'],
      ['demo-established-order', 'o1'],
      ['demo-established-order', 'o2'],
    ]);
    expect(findings[1]?.evidence.map((e) => e.reference)).toEqual(['Device/d1', 'Condition/c1']);
    expect(findings[0]?.results.get('dailyMg')?.value).toEqual([26.3]);
  });

  it('evaluates each criterion at most once per request, and per-order ones once per order', () => {
    const { pack, calls } = counted(demo);
    evaluatePack(pack, ctx());
    expect(calls.get('painDiagnosis.evidence')).toBe(1);
    expect(calls.get('activePump.evidence')).toBe(1);
    expect(calls.get('established')).toBe(1);
    expect(calls.get('isMorphineOrder')).toBe(2);
    expect(calls.get('dailyMg')).toBe(2);
  });

  it('computes a criterion only when an expression reads it: not the side of an and that cannot change the answer', () => {
    // established is `%activePump and %painDiagnosis`: without a pump, the diagnosis is never looked at, nor the
    // pain score of `%established and %painScoreRecorded.not()`.
    const withoutPump = counted(demo);
    const { findings } = evaluatePack(withoutPump.pack, ctx({ data: { ...ctx().data, devices: [] } }));
    expect(findings.map((f) => f.rule.id)).toEqual(['demo-dose-ceiling']);
    expect(withoutPump.calls.get('activePump.evidence')).toBe(1);
    expect(withoutPump.calls.get('painDiagnosis.evidence')).toBeUndefined();
    expect(withoutPump.calls.get('painScoreRecorded.evidence')).toBeUndefined();
    // Asked for every criterion (the app), it still computes them all, with the same answers.
    const all = evaluatePack(demo, ctx({ data: { ...ctx().data, devices: [] } }), { allCriteria: true });
    expect(all.criteria[0]?.results.find((r) => r.name === 'painDiagnosis')?.truth).toBe(true);
  });

  it("reads a criterion's evidence only when its expression finds it true", () => {
    // established (`%activePump and %painDiagnosis`) given evidence of its own: the pump.
    const criteria = new Map(demo.criteria);
    const established = criteria.get('established') as Criterion;
    criteria.set('established', { ...established, evidence: (criteria.get('activePump') as Criterion).evidence });
    const withoutPump = counted({ ...demo, criteria });
    evaluatePack(withoutPump.pack, ctx({ data: { ...ctx().data, devices: [] } }));
    expect(withoutPump.calls.get('established')).toBe(1);
    expect(withoutPump.calls.get('established.evidence')).toBeUndefined();
    const withPump = counted({ ...demo, criteria });
    const { findings } = evaluatePack(withPump.pack, ctx());
    expect(withPump.calls.get('established.evidence')).toBe(1);
    expect(findings.find((f) => f.rule.id === 'demo-established-order')?.evidence.map((e) => e.reference)).toEqual(['Device/d1']);
  });

  it('treats data it could not have as not known: a rule that needs it does not fire, and says so', () => {
    const data = { ...ctx().data };
    delete data.observations;
    const result = evaluatePack(demo, ctx({ hook: 'patient-view', data, ordersToJudge: [] }), { allCriteria: true });
    expect(result.findings).toEqual([]);
    const scores = result.criteria[0]?.results.find((r) => r.name === 'painScoreRecorded');
    expect(scores?.truth).toBe('unknown');
    const withData = evaluatePack(demo, ctx({ hook: 'patient-view', ordersToJudge: [], data: { ...ctx().data, observations: [] } }));
    expect(withData.findings.map((f) => f.rule.id)).toEqual(['demo-no-pain-score']);
  });

  it('over data the call could not provide, a resource found is still a definite yes, with its evidence', () => {
    // painDiagnosis made to read observations too: with observations missing, the condition it finds still counts.
    const painDiagnosis = demo.criteria.get('painDiagnosis') as Criterion;
    const criteria = new Map(demo.criteria).set('painDiagnosis', { ...painDiagnosis, reads: ['conditions', 'observations'] });
    const data = { ...ctx().data };
    delete data.observations;
    const found = evaluatePack({ ...demo, criteria }, ctx({ data }), { allCriteria: true }).criteria[0]?.results;
    expect(found?.find((r) => r.name === 'painDiagnosis')).toMatchObject({ truth: true, evidence: [{ reference: 'Condition/c1' }] });
    const none = evaluatePack({ ...demo, criteria }, ctx({ data: { ...data, conditions: [] } }), { allCriteria: true }).criteria[0]?.results;
    expect(none?.find((r) => r.name === 'painDiagnosis')).toMatchObject({ truth: 'unknown', evidence: [] });
  });

  it('keeps three-valued logic through criteria: false and unknown is false, true and unknown is unknown', () => {
    const data = { ...ctx().data, devices: [] };
    delete (data as Record<string, unknown>)['conditions'];
    const result = evaluatePack(demo, ctx({ data }), { allCriteria: true });
    const established = result.criteria[0]?.results.find((r) => r.name === 'established');
    expect(established?.truth).toBe(false);
    const noDevicesKnown = { ...ctx().data };
    delete (noDevicesKnown as Record<string, unknown>)['conditions'];
    const unknown = evaluatePack(demo, ctx({ data: noDevicesKnown }), { allCriteria: true });
    expect(unknown.criteria[0]?.results.find((r) => r.name === 'established')?.truth).toBe('unknown');
  });

  it('evaluates every criterion for every order when asked (for the app)', () => {
    const result = evaluatePack(demo, ctx(), { allCriteria: true });
    expect(result.criteria.map((c) => [c.order?.id, c.results.map((r) => r.name).sort()])).toEqual([
      [undefined, ['activePump', 'established', 'painDiagnosis', 'painScoreRecorded']],
      ['o1', ['aboveCeiling', 'dailyMg', 'isMorphineOrder']],
      ['o2', ['aboveCeiling', 'dailyMg', 'isMorphineOrder']],
    ]);
  });

  it('turns an expression that fails on this record into "not known" and reports it, without failing the request', () => {
    const odd = demoOrder('o3', 480) as Resource & { dispenseRequest: { quantity: { value: unknown } } };
    odd.dispenseRequest.quantity.value = 'lots';
    const result = evaluatePack(demo, ctx({ draftOrders: [odd], ordersToJudge: [odd] }), { allCriteria: true });
    expect(result.errors.map((e) => e.order)).toContain('MedicationRequest/o3');
    expect(result.criteria[1]?.results.find((r) => r.name === 'dailyMg')?.truth).toBe('unknown');
    expect(result.findings.map((f) => f.rule.id)).toEqual(['demo-established-order']);
  });

  it('does nothing for hooks a rule does not name', () => {
    expect(evaluatePack(demo, ctx({ hook: 'order-select' })).findings.every((f) => f.rule.id === 'demo-established-order')).toBe(true);
  });
});

/**
 * The demo pack with criteria that read another order (forOrder): the latest completed order on record, its daily
 * dose, and whether the order judged raises it.
 */
function demoWithEarlierOrder(): RulePack {
  const root = mkdtempSync(join(tmpdir(), 'itcds-for-order-'));
  cpSync('test/packs/demo', join(root, 'demo'), { recursive: true });
  writeFileSync(
    join(root, 'demo', 'criteria', 'earlier.yaml'),
    [
      'criteria:',
      '  earlierOrder:',
      '    kind: value',
      '    description: The latest completed order on record other than the one judged',
      '    expression: "%medicationRequests.where(status = \'completed\' and id != %order.id).last()"',
      '  earlierDailyMg:',
      '    kind: value',
      '    description: The earlier order\'s average daily morphine',
      '    forOrder: "%earlierOrder"',
      '    expression: "%dailyMg"',
      '  doseRaised:',
      '    description: The order raises the daily dose of the earlier order',
      '    expression: "%dailyMg > %earlierDailyMg"',
      '  lastCompletedDailyMg:',
      '    kind: value',
      '    description: The daily morphine of the last completed order on record',
      '    forOrder: "%medicationRequests.where(status = \'completed\').last()"',
      '    expression: "%dailyMg"',
      '  everyCompletedDailyMg:',
      '    kind: value',
      '    description: Names every completed order, which forOrder does not allow',
      '    forOrder: "%medicationRequests.where(status = \'completed\')"',
      '    expression: "%dailyMg"',
      '  patientDailyMg:',
      '    kind: value',
      '    description: Names the patient (when the record has prescriptions), which is not an order',
      '    forOrder: "%patient.where(%medicationRequests.exists())"',
      '    expression: "%dailyMg"',
      '',
    ].join('\n')
  );
  return (loadRulePacks(root, 'cds-hooks/schema') as [RulePack])[0];
}

describe('criteria read as for another order (forOrder)', () => {
  const earlierPack = demoWithEarlierOrder();
  const completed = (id: string, units: number): Resource => ({ ...(demoOrder(id, units) as MedicationRequest), status: 'completed' });
  const withHistory = (history: Resource[]): EvaluationContext => ctx({ data: { ...ctx().data, medicationRequests: history } });
  const valueFor = (result: ReturnType<typeof evaluatePack>, orderId: string | undefined, name: string) =>
    result.criteria.find((c) => c.order?.id === orderId)?.results.find((r) => r.name === name);

  it("computes the other order's per-order criteria with it as %order, and cites it", () => {
    const result = evaluatePack(earlierPack, withHistory([completed('old', 720)]), { allCriteria: true });
    expect(valueFor(result, 'o1', 'earlierDailyMg')?.value).toEqual([19.7]);
    expect(valueFor(result, 'o1', 'earlierDailyMg')?.evidence.map((e) => e.reference)).toEqual(['MedicationRequest/old']);
    expect(valueFor(result, 'o1', 'doseRaised')?.truth).toBe(false);
    expect(valueFor(result, 'o2', 'doseRaised')?.truth).toBe(true);
    // The judged order's own value is untouched by reading the other one's.
    expect(valueFor(result, 'o2', 'dailyMg')?.value).toEqual([26.3]);
  });

  it('is per order only when naming the other order reads %order', () => {
    expect(earlierPack.criteria.get('earlierDailyMg')?.perOrder).toBe(true);
    expect(earlierPack.criteria.get('lastCompletedDailyMg')?.perOrder).toBe(false);
    const result = evaluatePack(earlierPack, withHistory([completed('old', 720)]), { allCriteria: true });
    expect(valueFor(result, undefined, 'lastCompletedDailyMg')?.value).toEqual([19.7]);
  });

  it("computes the other order's criteria once per request, however many orders read them", () => {
    const { pack, calls } = counted(earlierPack);
    const history = completed('old', 720);
    evaluatePack(pack, withHistory([history]), { allCriteria: true });
    // o1, o2 and the earlier order each once; the last completed order is the earlier one, so it adds nothing.
    expect(calls.get('dailyMg')).toBe(3);
    expect(calls.get('lastCompletedDailyMg')).toBe(1);
  });

  it('is not known, without an error, when no order is named', () => {
    const result = evaluatePack(earlierPack, withHistory([]), { allCriteria: true });
    expect(valueFor(result, 'o1', 'earlierDailyMg')).toMatchObject({ truth: 'unknown', evidence: [] });
    expect(valueFor(result, 'o1', 'earlierDailyMg')?.error).toBeUndefined();
    expect(valueFor(result, 'o2', 'doseRaised')?.truth).toBe('unknown');
    expect(result.errors).toEqual([]);
  });

  it('reports naming more than one order as an error on this record, and the criterion is not known', () => {
    const result = evaluatePack(earlierPack, withHistory([completed('a', 480), completed('b', 720)]), { allCriteria: true });
    expect(valueFor(result, undefined, 'everyCompletedDailyMg')).toMatchObject({ truth: 'unknown', error: 'forOrder names 2 items; it must name one order at most' });
    expect(result.errors).toContainEqual({ expression: "%medicationRequests.where(status = 'completed')", message: 'forOrder names 2 items; it must name one order at most' });
    expect(result.findings.map((f) => f.rule.id)).toContain('demo-established-order');
  });

  it('reports naming a resource that is not an order as an error, and the criterion is not known', () => {
    const result = evaluatePack(earlierPack, withHistory([completed('a', 480)]), { allCriteria: true });
    expect(valueFor(result, undefined, 'patientDailyMg')).toMatchObject({ truth: 'unknown', error: 'forOrder names a Patient, not an order' });
    expect(valueFor(result, undefined, 'lastCompletedDailyMg')?.value).toEqual([13.2]);
  });
});
