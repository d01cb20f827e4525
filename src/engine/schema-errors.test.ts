import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { describeSchemaErrors } from './schema-errors.js';

/** Validates a value against a schema and describes the errors, as the pack loader does. */
function describeAgainst(schema: Record<string, unknown>, value: unknown): string {
  const validate = new Ajv2020({ allErrors: true, strict: false, validateSchema: false }).compile(schema);
  expect(validate(value)).toBe(false);
  return describeSchemaErrors(validate.errors ?? [], schema);
}

describe('schema violations in words a rule author can act on', () => {
  it("names a key a condition forbids and the key it cannot stand beside, instead of Ajv's 'boolean schema is false'", () => {
    // The rule cases' own schema: a request file is sent as it is, so record changes beside it are refused.
    const schema = JSON.parse(readFileSync('cds-hooks/schema/rule-tests.schema.json', 'utf8')) as Record<string, unknown>;
    const input = { request: 'fhir-fixtures/requests/seed-a.order-sign.json', with: [], orders: 'seed-a' };
    expect(describeAgainst(schema, { cases: [{ name: 'c', now: '2026-11-20T15:00:00Z', input, expect: { fires: false } }] })).toBe(
      '/cases/0/input/orders cannot be given beside request; /cases/0/input/with cannot be given beside request'
    );
  });

  it('a key forbidden outright cannot be given here; other violations keep their place and message', () => {
    const schema = { type: 'object', properties: { legacy: false, count: { type: 'integer' } } };
    expect(describeAgainst(schema, { legacy: 1, count: 'x' })).toBe('/legacy cannot be given here; /count must be integer');
    expect(describeAgainst({ type: 'object', required: ['id'] }, {})).toBe("/ must have required property 'id'");
  });

  it("reads a condition whose path holds a key Ajv percent-encodes ('100%')", () => {
    const schema = { type: 'object', properties: { '100%': { type: 'object', if: { required: ['a'] }, then: { properties: { b: false } } } } };
    expect(describeAgainst(schema, { '100%': { a: 1, b: 2 } })).toBe('/100%/b cannot be given beside a');
  });

  it('keeps a failed condition whose then-part fails on something else', () => {
    const schema = { type: 'object', if: { required: ['a'] }, then: { required: ['b'] } };
    expect(describeAgainst(schema, { a: 1 })).toBe('/ must have required property \'b\'; / must match "then" schema');
  });
});
