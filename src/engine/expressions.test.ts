/**
 * The loader's static reading of an expression: the functions it names must include calls fhirpath.js parses
 * without an Identifier child (sort), or unknown-function checks would miss them. And %today, which is kept
 * between evaluations of the same day, must follow the date.
 */
import fhirpath from 'fhirpath';
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
});
