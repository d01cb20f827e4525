/**
 * The loader's static reading of an expression: the functions it names must include calls fhirpath.js parses
 * without an Identifier child (sort), or unknown-function checks would miss them.
 */
import { describe, expect, it } from 'vitest';
import { readExpression, unknownFunctions, userFunctions } from './expressions.js';

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
