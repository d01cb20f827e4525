import type { Coding } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { someCoding, someName } from './item-tests.js';

/** Every name someName tests, in the order it tests them, until the test passes. */
function namesSeen(value: unknown): string[] {
  const seen: string[] = [];
  someName(value, (n) => (seen.push(n), false));
  return seen;
}

/** Every coding someCoding tests, by code, until the test passes. */
function codesSeen(value: unknown): string[] {
  const seen: string[] = [];
  someCoding(value, (c: Coding) => (seen.push(c.code ?? ''), false));
  return seen;
}

const coded = (code: string, display?: string, text?: string): Record<string, unknown> => ({ coding: [{ system: 's', code, ...(display ? { display } : {}) }], ...(text ? { text } : {}) });

// A prescription with a contained Medication, and every element the walkers read.
const prescription = {
  resourceType: 'MedicationRequest',
  medicationCodeableConcept: coded('c-med', 'med display', 'med text'),
  medicationReference: { reference: '#m', display: 'ref display' },
  contained: [{ resourceType: 'Medication', id: 'm', code: coded('c-mcode', 'mcode display'), ingredient: [{ itemCodeableConcept: coded('c-ing', undefined, 'ing text') }] }],
  note: [{ text: 'a note' }],
  method: { text: 'method text' },
};

describe('the walkers behind codedIn and textMatches', () => {
  it('someName reads the coded elements, method, the referenced display, the contained Medication, device names, notes and valueString', () => {
    expect(namesSeen(prescription)).toEqual(['med text', 'med display', 'method text', 'ref display', 'mcode display', 'ing text', 'a note']);
    expect(namesSeen({ resourceType: 'Device', type: { text: 'pump' }, deviceName: [{ name: 'SynchroMed II' }] })).toEqual(['pump', 'SynchroMed II']);
    expect(namesSeen({ resourceType: 'Observation', code: coded('x', 'score'), valueString: 'better' })).toEqual(['score', 'better']);
    expect(namesSeen(coded('x', 'a display', 'a text'))).toEqual(['a text', 'a display']);
    expect(namesSeen('plain text')).toEqual(['plain text']);
    expect(namesSeen(42)).toEqual([]);
  });

  it('someCoding reads the coded elements and the contained Medication, or a concept or coding itself', () => {
    expect(codesSeen(prescription)).toEqual(['c-med', 'c-mcode', 'c-ing']);
    expect(codesSeen({ resourceType: 'Condition', code: coded('G89.4') })).toEqual(['G89.4']);
    expect(codesSeen(coded('x1'))).toEqual(['x1']);
    expect(codesSeen({ system: 's', code: 'x2' })).toEqual(['x2']);
    expect(codesSeen('G89.4')).toEqual([]);
  });

  it('both stop at the first name or coding that passes', () => {
    const names: string[] = [];
    expect(someName(prescription, (n) => (names.push(n), n === 'ref display'))).toBe(true);
    expect(names).toEqual(['med text', 'med display', 'method text', 'ref display']);
    const codes: string[] = [];
    expect(someCoding(prescription, (c) => (codes.push(c.code ?? ''), c.code === 'c-mcode'))).toBe(true);
    expect(codes).toEqual(['c-med', 'c-mcode']);
  });
});
