/**
 * The JSON Schemas of cds-hooks/schema against the JSON Schema 2020-12 meta-schema. The service compiles them at
 * start-up without this check (it took a tenth of start-up), so a malformed schema is caught here instead.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { CARD_TYPES } from '../../src/cards/card-types.js';
import { schemaValidators } from '../../src/engine/load-pack.js';

const SCHEMA_DIR = join(import.meta.dirname, '..', '..', 'cds-hooks', 'schema');
const files = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json'));

function checker(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
  addFormats.default(ajv);
  return ajv;
}

describe('the rule and service schemas', () => {
  it('are all found (the checks below would pass on an empty folder)', () => {
    expect(files.sort()).toEqual(['criteria.schema.json', 'pack.schema.json', 'rule-tests.schema.json', 'rule.schema.json', 'services.schema.json']);
  });

  it.each(files)('%s is a valid JSON Schema 2020-12 and compiles in strict mode', (file) => {
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as Record<string, unknown>;
    const ajv = checker();
    expect(ajv.validateSchema(schema), JSON.stringify(ajv.errors)).toBe(true);
    expect(() => ajv.compile(schema)).not.toThrow();
  });

  it('the check finds a malformed schema', () => {
    const ajv = checker();
    expect(ajv.validateSchema({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object', properties: { id: { type: 'strin' } } })).toBe(false);
    expect(ajv.validateSchema({ $schema: 'https://json-schema.org/draft/2020-12/schema', required: 'id' })).toBe(false);
  });

  it('start-up, which skips the meta-schema, still stops on a keyword with a value of the wrong type', () => {
    // A RULES_DIR elsewhere brings its own copy of the schemas, which no test here has checked.
    const dir = mkdtempSync(join(tmpdir(), 'itcds-schema-'));
    cpSync(SCHEMA_DIR, dir, { recursive: true });
    const rule = JSON.parse(readFileSync(join(dir, 'rule.schema.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'rule.schema.json'), JSON.stringify({ ...rule, required: 'id' }));
    expect(() => schemaValidators(dir)).toThrow(/required value must be/);
  });

  it('a rule case that sends a request file as it is cannot also change the record it holds', () => {
    // The runner sends a request file unchanged: with, without and the like beside it were silently ignored, so the
    // case tested the unchanged request. hook and thresholds apply to a request file too.
    const validate = checker().compile(JSON.parse(readFileSync(join(SCHEMA_DIR, 'rule-tests.schema.json'), 'utf8')) as Record<string, unknown>);
    const cases = (input: Record<string, unknown>): unknown => ({ cases: [{ name: 'c', now: '2026-11-20T15:00:00Z', input, expect: { fires: false } }] });
    const request = 'fhir-fixtures/requests/seed-a.order-sign.json';
    expect(validate(cases({ request, hook: 'order-dispatch', thresholds: { morphineMaxDailyMg: 12 } })), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(cases({ patient: 'seed-a', hook: 'order-sign', with: [{ resourceType: 'Basic' }] })), JSON.stringify(validate.errors)).toBe(true);
    for (const key of ['patient', 'orders', 'draftOrders', 'selections', 'without', 'with', 'unavailable', 'unfiltered']) {
      expect(validate(cases({ request, [key]: key === 'patient' || key === 'orders' ? 'seed-a' : [] })), key).toBe(false);
    }
  });

  it('a rule card must name its topic, one of the CRD card types the service knows', () => {
    // The schema lists them for rule authors' editors; cards/card-types.ts names them for configuration options.
    const rule = JSON.parse(readFileSync(join(SCHEMA_DIR, 'rule.schema.json'), 'utf8')) as { properties: { card: { required: string[]; properties: { topic: { enum: string[] } } } } };
    expect(rule.properties.card.required).toContain('topic');
    expect(rule.properties.card.properties.topic.enum).toEqual([...CARD_TYPES.keys()]);
  });
});
