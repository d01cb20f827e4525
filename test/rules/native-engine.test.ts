/**
 * The native FHIRPath engine against fhirpath.js over whole packs: every expression of every pack, on every rule
 * case, every fixture request, and records varied at random (statuses, date shapes and zones, value types, texts,
 * duplicates), must give exactly fhirpath.js's answer. The seeds must also run natively end to end (no fallback),
 * since that is where the service's speed comes from.
 */
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEvaluator } from '../../src/cards/respond.js';
import { handleHook } from '../../src/hooks/handle-hook.js';
import type { HookPipeline } from '../../src/hooks/handle-hook.js';
import type { RulePack } from '../../src/engine/pack-types.js';
import { loadRulePacks } from '../../src/engine/rule-packs.js';
import { runPackCases } from '../../src/rule-cases/run-cases.js';
import { loadServiceDefinitions } from '../../src/services/service-definitions.js';
import { oraclePack } from '../support/engine-oracle.js';
import type { OracleLog } from '../support/engine-oracle.js';
import { fixtureRequest } from '../support/harness.js';

const services = loadServiceDefinitions('cds-hooks');
const env = { services, fixturesRoot: 'fhir-fixtures', schemaDir: 'cds-hooks/schema', publicBaseUrl: 'http://localhost:3000' };
const [intrathecal] = loadRulePacks('cds-hooks/packs', 'cds-hooks/schema');
const packs = [...loadRulePacks('cds-hooks/packs', 'cds-hooks/schema'), ...loadRulePacks('test/packs', 'cds-hooks/schema')];
const NOW = new Date('2026-11-20T15:00:00Z');

function pipelineFor(pack: RulePack): HookPipeline {
  return { services: new Map(services.map((s) => [s.id, s])), evaluate: createEvaluator([pack], { publicBaseUrl: env.publicBaseUrl }), prefetchDeadlineMs: 1000, fhirCallTimeoutMs: 1000 };
}

function checkedIntrathecal(): { pipeline: HookPipeline; log: OracleLog } {
  const { pack, log } = oraclePack(intrathecal as RulePack);
  return { pipeline: pipelineFor(pack), log };
}

describe('every pack expression is compiled natively and agrees with fhirpath.js', () => {
  it.each(packs.map((p) => [p.id, p] as const))('pack %s: every rule case', (_id, p) => {
    const { pack, log } = oraclePack(p);
    expect(runPackCases(pack, env).problems).toEqual([]);
    expect([...log.gaps.entries()]).toEqual([]);
    expect(log.natives).toBeGreaterThan(pack.rules.length);
    expect(log.mismatches).toEqual([]);
  });

  // Those whose data is all in the prefetch (the order-dispatch examples name orders to read from the EHR).
  const requests = readdirSync('fhir-fixtures/requests').filter((f) => !f.includes('no-prefetch') && !f.includes('order-dispatch'));
  it.each(requests)('fixture request %s', async (file) => {
    const { pipeline, log } = checkedIntrathecal();
    const request = fixtureRequest(file);
    await handleHook(pipeline, `intrathecal-${String(request['hook'])}`, request, NOW);
    expect(log.mismatches).toEqual([]);
  });

  it.each(['seed-a.order-sign.json', 'seed-b.order-sign.json'])('the seed %s runs natively from end to end (no fallback)', async (file) => {
    const { pipeline, log } = checkedIntrathecal();
    await handleHook(pipeline, 'intrathecal-order-sign', fixtureRequest(file), NOW);
    expect(log.natives).toBeGreaterThan(100);
    expect(log.fallbacks).toEqual([]);
  });
});

type Json = Record<string, unknown>;
const entriesOf = (bundle: unknown): Json[] => ((bundle as { entry?: { resource: Json }[] } | undefined)?.entry ?? []).map((e) => e.resource);

const DATE_SHAPES = ['2025', '2026-02', '2026-02-03', '2026-02-03T08:30:00Z', '2026-02-03T08:30:00+01:00', '2025-12-24T23:59:59-05:00', '2026-11-19T10:00:00.123Z'];
const STATUSES = ['final', 'amended', 'preliminary', 'entered-in-error', 'active', 'completed', 'stopped', 'on-hold', 'unknown', 'inactive'];
const TEXTS = ['with the pump', 'without medication', 'WITHOUT', 'function', 'psychological evaluation', 'shared decision-making', 'morphine 10 mg/mL', 'Medicare Advantage', ''];
const DATE_KEYS = ['effectiveDateTime', 'performedDateTime', 'authoredOn', 'onsetDateTime', 'recordedDate', 'issued'];

/** One change to one resource of the record. */
const change = fc.oneof(
  fc.record({ kind: fc.constant('status'), value: fc.constantFrom(...STATUSES) }),
  fc.record({ kind: fc.constant('date'), key: fc.constantFrom(...DATE_KEYS), value: fc.constantFrom(...DATE_SHAPES) }),
  fc.record({ kind: fc.constant('period'), value: fc.constantFrom(...DATE_SHAPES) }),
  fc.record({ kind: fc.constant('value'), value: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.double({ min: 0, max: 40, noNaN: true }), fc.constantFrom(...TEXTS)) }),
  fc.record({ kind: fc.constant('text'), value: fc.constantFrom(...TEXTS) }),
  fc.record({ kind: fc.constant('drop'), value: fc.constantFrom('code', 'status', 'method', 'note', 'clinicalStatus', 'type', 'valueQuantity', 'effectiveDateTime') }),
  fc.record({ kind: fc.constant('copy'), value: fc.boolean() })
);

function apply(list: Json[], at: number, c: { kind: string; value: unknown; key?: string }): void {
  const r = list[at % list.length];
  if (!r) return;
  if (c.kind === 'status') r['status'] = c.value;
  if (c.kind === 'date' && c.key) r[c.key] = c.value;
  if (c.kind === 'period') r['performedPeriod'] = { start: c.value };
  if (c.kind === 'value') {
    for (const k of Object.keys(r)) if (k.startsWith('value')) delete r[k];
    if (typeof c.value === 'string') r['valueString'] = c.value;
    else if (Number.isInteger(c.value)) r['valueInteger'] = c.value;
    else r['valueQuantity'] = { value: c.value, unit: 'mg/d', system: 'http://unitsofmeasure.org', code: 'mg/d' };
  }
  if (c.kind === 'text') r['note'] = [{ text: c.value }];
  if (c.kind === 'drop') delete r[c.value as string];
  if (c.kind === 'copy') list.push({ ...structuredClone(r), ...(c.value ? { id: `${String(r['id'])}-copy` } : {}) });
}

describe('random records: the native engine agrees with fhirpath.js', () => {
  it('on seed A and seed B with statuses, dates, values and texts varied', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('seed-a.order-sign.json', 'seed-b.order-sign.json'), fc.array(fc.tuple(fc.constantFrom('conditions', 'devices', 'medicationRequests', 'observations', 'procedures', 'coverages'), fc.nat(), change), { maxLength: 12 }), async (file, changes) => {
        const body = fixtureRequest(file);
        const prefetch = body.prefetch as Record<string, unknown>;
        const lists = new Map<string, Json[]>();
        for (const [key, at, c] of changes) {
          const list = lists.get(key) ?? entriesOf(prefetch[key]);
          lists.set(key, list);
          apply(list, at, c);
        }
        for (const [key, list] of lists) prefetch[key] = { resourceType: 'Bundle', type: 'searchset', entry: list.map((resource) => ({ resource })) };
        const { pipeline, log } = checkedIntrathecal();
        await handleHook(pipeline, 'intrathecal-order-sign', body, NOW);
        expect(log.mismatches).toEqual([]);
      }),
      // NATIVE_RUNS raises the count when hunting a disagreement (e.g. NATIVE_RUNS=5000 npx vitest run test/rules).
      { numRuns: Number(process.env['NATIVE_RUNS'] ?? 300) }
    );
  });
});
