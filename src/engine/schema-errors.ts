/**
 * Schema violations in words a rule author can act on. Ajv says "boolean schema is false" for a key a schema
 * forbids in some case (the rule cases' `if: { required: [request] }, then: { properties: { with: false } }`), and
 * "must match "then" schema" for the condition; together: "/cases/0/input/with cannot be given beside request".
 */
import type { ErrorObject } from 'ajv';

/** The part of a schema a JSON pointer names ("#/properties/cases/items/if"), or undefined. */
function at(schema: unknown, pointer: string): unknown {
  return pointer
    .replace(/^#\/?/, '')
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), schema);
}

/** The keys an `if` requires, when the error is such a condition's. */
function conditionKeys(error: ErrorObject, schema: unknown): string[] {
  if (error.keyword !== 'if') return [];
  const condition = at(schema, `${error.schemaPath.replace(/\/if$/, '')}/if`) as { required?: unknown } | undefined;
  return Array.isArray(condition?.required) ? condition.required.filter((k): k is string => typeof k === 'string') : [];
}

/**
 * Each violation, as "place message", joined by "; ".
 * @param errors - Ajv's errors (allErrors).
 * @param schema - the schema they come from, to read the condition of a forbidden key.
 * @returns the text.
 */
export function describeSchemaErrors(errors: readonly ErrorObject[], schema: unknown): string {
  const conditions = new Map(errors.filter((e) => e.keyword === 'if').map((e) => [e.instancePath, conditionKeys(e, schema)]));
  const parentOf = (e: ErrorObject): string => e.instancePath.replace(/\/[^/]*$/, '');
  // A condition whose forbidden keys are named below says nothing more.
  const explained = new Set(errors.filter((e) => e.keyword === 'false schema' && (conditions.get(parentOf(e)) ?? []).length > 0).map(parentOf));
  return errors
    .filter((e) => !(e.keyword === 'if' && explained.has(e.instancePath)))
    .map((e) => {
      if (e.keyword !== 'false schema') return `${e.instancePath || '/'} ${e.message ?? ''}`;
      const keys = conditions.get(parentOf(e)) ?? [];
      return `${e.instancePath} cannot be given ${keys.length > 0 ? `beside ${keys.join(', ')}` : 'here'}`;
    })
    .join('; ');
}
