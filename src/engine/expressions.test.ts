/**
 * The loader's static reading of an expression: the functions it names must include calls fhirpath.js parses
 * without an Identifier child (sort), or unknown-function checks would miss them. And %today, which is kept
 * between evaluations of the same day, must follow the date; %now, made without running an expression, must be the
 * value fhirpath.js's own toDateTime() gives, for everything a rule can do with it.
 */
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { describe, expect, it } from 'vitest';
import { evaluationTime, readExpression, unknownFunctions, userFunctions } from './expressions.js';

describe('readExpression', () => {
  it('names every function with its arity, sort() included', () => {
    const use = readExpression("%refills.select(date).sort().skip(1).where(codedIn('it-x'))");
    expect([...use.functions.entries()].sort()).toEqual([['codedIn', 1], ['select', 1], ['skip', 1], ['sort', 0], ['where', 1]]);
    expect([...use.valueSets]).toEqual(['it-x']);
  });

  it('finds functions neither FHIRPath nor the pack defines', () => {
    const use = readExpression('%a.sort().frobnicate()');
    expect(unknownFunctions(use.functions, userFunctions(new Map()))).toEqual(['frobnicate']);
  });
});

describe('evaluationTime', () => {
  const text = (v: unknown): string => String((fhirpath.evaluate({}, '%v.toString()', { v }) as unknown[])[0]);

  it('gives %today of the evaluation date, also when evaluations of different days follow each other', () => {
    for (const at of ['2026-03-01T23:59:59.999Z', '2026-03-02T00:00:00.000Z', '2026-03-02T12:00:00.000Z', '2025-12-31T08:00:00.000Z']) {
      const time = evaluationTime(new Date(at));
      expect(text(time.today)).toBe(at.slice(0, 10));
      expect(text(time.now)).toBe(at.replace('Z', '+00:00'));
    }
  });

  it('gives a %now that fhirpath.js treats exactly like the value its own toDateTime() makes', () => {
    const uses = [
      '%now.toString()',
      '%now = %other',
      '%now ~ %other',
      '%now > @2026-03-01',
      '%now < @2026-03-02T12:00:00Z',
      '@2025-12-31T08:00:00.000+00:00 <= %now',
      '(%now - 1 year).toString()',
      '(%now + 6 months).toString()',
      '(%now - 30 days) > @2026-01-01',
      '%now.toDateTime() = %other',
      "%now is DateTime",
      "(%now | %other).count()",
    ];
    for (const at of ['2026-03-01T23:59:59.999Z', '2026-03-02T00:00:00.000Z', '2024-02-29T12:30:15.250Z']) {
      const iso = at.replace('Z', '+00:00');
      const made = (fhirpath.evaluate({}, '%v.toDateTime()', { v: iso }, r4, { resolveInternalTypes: false }) as unknown[])[0];
      const other = (fhirpath.evaluate({}, '%v.toDateTime()', { v: iso }, r4, { resolveInternalTypes: false }) as unknown[])[0];
      const { now } = evaluationTime(new Date(at));
      for (const use of uses) {
        const expected = fhirpath.evaluate({}, use, { now: made, other }, r4);
        expect(fhirpath.evaluate({}, use, { now, other }, r4), `${use} at ${at}`).toEqual(expected);
      }
      expect(fhirpath.evaluate({}, '%now.toString()', { now }, r4)).toEqual([iso]);
    }
    // Made without running an expression: every %now shares the context of the one value fhirpath.js made at load
    // (running toDateTime() gives each value the context of its own run).
    const contextOf = (at: string): unknown => (evaluationTime(new Date(at)).now as { ctx?: unknown }).ctx;
    expect(contextOf('2026-03-01T10:00:00.000Z')).toBeDefined();
    expect(contextOf('2026-03-01T10:00:00.000Z')).toBe(contextOf('2026-04-01T10:00:00.000Z'));
  });
});
