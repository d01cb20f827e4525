/**
 * The native FHIRPath engine against fhirpath.js, expression by expression: where it answers, it answers exactly
 * what fhirpath.js answers; where it is not sure it falls back (and the combined engine then gives fhirpath.js's
 * answer or error); what it does not cover is refused at compile time.
 */
import { describe, expect, it } from 'vitest';
import type { ValueSet } from '@medplum/fhirtypes';
import { compileExpression, evaluationTime, userFunctions } from '../expressions.js';
import { compileValueSet } from '../value-sets.js';
import { compileNative } from './compile.js';
import { packFunctions } from './functions.js';
import { Fallback } from './values.js';

const vs: ValueSet = {
  resourceType: 'ValueSet', id: 'pain', url: 'http://example.org/vs/pain', status: 'active',
  compose: { include: [{ system: 'http://loinc.org', concept: [{ code: '72514-3' }] }] },
};
const valueSets = new Map([['pain', compileValueSet(vs, 'test')]]);
const table = userFunctions(valueSets);
const natives = packFunctions(valueSets);

const obs = (id: string, extra: Record<string, unknown>): Record<string, unknown> => ({
  resourceType: 'Observation', id, status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '72514-3' }], text: 'Pain severity' }, ...extra,
});
const observations = [
  obs('o1', { effectiveDateTime: '2026-03-01T10:00:00Z', valueInteger: 7, method: { text: 'without the pump' } }),
  obs('o2', { effectiveDateTime: '2026-05-01T10:00:00Z', valueQuantity: { value: 3.5, unit: '{score}' }, note: [{ text: 'with drug' }] }),
  obs('o3', { status: 'entered-in-error', effectivePeriod: { start: '2026-04-01' }, valueString: 'n/a', code: { text: 'Function' } }),
];
const vars = {
  observations,
  empty: [],
  concepts: [{ coding: [{ system: 'http://loinc.org', code: '72514-3' }], text: 'Pain' }],
  mixedZones: ['2026-03-01T10:00:00Z', '2026-03-01T10:00:00+01:00'],
  numbers: [1, 2.5, 4],
  flags: [true],
  costless: ['y'],
  thresholds: { relief: 30 },
  twin: [obs('o1', { valueInteger: 7 })],
  quantities: [{ value: 1000, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' }, { value: 1, unit: 'g', system: 'http://unitsofmeasure.org', code: 'g' }],
  untypedChoice: [{ valueString: 'x' }],
  // Units as senders write them: a UCUM code, text only, a local code with text, a code that disagrees with its text,
  // a unit not converted, and a plain number (no unit at all).
  units: [
    { value: 0.5, system: 'http://unitsofmeasure.org', code: 'mL/d' },
    { value: 0.5, unit: 'mcg/day' },
    { value: 2, system: 'urn:oid:2.16.840.1.113883.3.999', code: '17', unit: 'MG / 24 hr' },
    { value: 1, system: 'http://unitsofmeasure.org', code: 'ug/h', unit: 'mL/day' },
    { value: 3, unit: 'mg/kg/h' },
    { value: 4 },
  ],
  twoTypes: [{ resourceType: 'Procedure', id: 'p', status: 'completed', performedDateTime: '2026-08-06', performedPeriod: { start: '2026-02-03' } }],
  // Prescriptions written in different zones and precisions: as text, 'a' (10:00 at +05:00, 05:00 UTC) sorts after
  // 'b' (08:00 UTC); as moments, 'b' is later. 'c' and 'd' are equally late (a time without a zone is UTC).
  written: [
    { resourceType: 'MedicationRequest', id: 'a', authoredOn: '2026-06-01T10:00:00+05:00' },
    { resourceType: 'MedicationRequest', id: 'b', authoredOn: '2026-06-01T08:00:00Z' },
    { resourceType: 'MedicationRequest', id: 'x', authoredOn: 'yesterday' },
    { resourceType: 'MedicationRequest', id: 'y' },
    { resourceType: 'MedicationRequest', id: 'z', authoredOn: '2026-06-01' },
  ],
  writtenTies: [
    { resourceType: 'MedicationRequest', id: 'c', authoredOn: '2026-07-01T09:00:00' },
    { resourceType: 'MedicationRequest', id: 'd', authoredOn: '2026-07-01T09:00:00.000Z' },
    { resourceType: 'MedicationRequest', id: 'e', authoredOn: '2026' },
    { resourceType: 'MedicationRequest', id: 'f', authoredOn: '2025-12' },
  ],
  // fhirpath.js's own date values, as the engine passes them (a result holding one is given as its text).
  ...evaluationTime(new Date('2026-11-20T15:00:00Z')),
};

function both(expression: string): { native: unknown; reference: unknown } {
  const native = compileNative(expression, natives);
  if (typeof native !== 'function') throw new Error(`not compiled natively: ${native.unsupported}`);
  const reference = compileExpression(expression, table, natives).reference;
  let answer: unknown;
  try {
    answer = native({}, vars);
  } catch (err) {
    answer = err instanceof Fallback ? 'fallback' : err;
  }
  let expected: unknown;
  try {
    expected = reference({}, vars);
  } catch (err) {
    expected = `error: ${(err as Error).message}`;
  }
  return { native: answer, reference: expected };
}

describe('three-valued and / or', () => {
  const compiled = (text: string) => compileNative(text, natives) as (root: object, vars: Record<string, unknown>) => readonly unknown[];
  /** Variables whose `%costly` throws when read: a side that is read when it need not be fails the test. */
  const guarded = (values: Record<string, unknown>) => Object.defineProperty({ ...values }, 'costly', { get: () => { throw new Error('read %costly'); } });

  it('does not evaluate the right side when the left decides: false and, true or', () => {
    expect(compiled('%no and %costly')({}, guarded({ no: [false] }))).toEqual([false]);
    expect(compiled('%yes or %costly')({}, guarded({ yes: [true] }))).toEqual([true]);
    expect(compiled('%no implies %costly')({}, guarded({ no: [false] }))).toEqual([true]);
    expect(compiled("coalesce(%no, %costly)")({}, guarded({ no: [false] }))).toEqual([false]);
  });

  it('evaluates it otherwise, keeping empty (not known) apart from false', () => {
    expect(() => compiled('%yes and %costly')({}, guarded({ yes: [true] }))).toThrow('read %costly');
    expect(() => compiled('%none and %costly')({}, guarded({ none: [] }))).toThrow('read %costly');
    expect(() => compiled('%yes implies %costly')({}, guarded({ yes: [true] }))).toThrow('read %costly');
    expect(() => compiled('%no xor %costly')({}, guarded({ no: [false] }))).toThrow('read %costly');
    expect(compiled('%none and %no')({}, { none: [], no: [false] })).toEqual([false]);
    expect(compiled('%none and %yes')({}, { none: [], yes: [true] })).toEqual([]);
    expect(compiled('%none or %yes')({}, { none: [], yes: [true] })).toEqual([true]);
    expect(compiled('%no or %none')({}, { none: [], no: [false] })).toEqual([]);
  });
});

describe('native FHIRPath answers what fhirpath.js answers', () => {
  it.each([
    // navigation, choice elements, ofType
    '%observations.status',
    '%observations.value',
    '%observations.value.ofType(Quantity).value',
    '%observations.effective.ofType(dateTime)',
    '%observations.effective.ofType(Period).start',
    '%observations.ofType(Observation).id',
    '%observations.ofType(Condition)',
    '%thresholds.relief',
    '%concepts.coding.code',
    // three-valued logic
    '%empty.exists() and true', 'true and %empty', "'x' and true", '%empty or false', 'true or %empty', 'false or false',
    '%flags.not()', "('x').not()", '%empty.not()',
    // filters and projections
    "%observations.where(status = 'final').id",
    "%observations.where(status = 'final' and value.ofType(integer) > 5).id",
    '%observations.select(effective.ofType(dateTime) | effective.ofType(Period).start)',
    "%observations.exists(status = 'entered-in-error')",
    "%observations.where(code.inValueSet('pain')).count()",
    "%observations.codedIn('pain').id", "%observations.textMatches('function').id", "%observations.where(code.text.lower().contains('pain')).id",
    "%observations.first().id", "%observations.last().id", "%observations.skip(1).id", '%empty.first()',
    "iif(%empty.exists(), 'a', 'b')", "iif(%flags.first(), 'a')", "%observations.select(iif(value.ofType(integer).exists(), value.ofType(integer), 0))",
    // coalesce: the first non-empty argument, on the input as a whole
    "%observations.coalesce(value.ofType(string), value.ofType(integer))", '%observations.select(coalesce(value.ofType(Quantity).value, value.ofType(integer), 0))',
    '%empty.coalesce(status)', "coalesce(%empty, %empty)", "coalesce(%empty, 'x', %costless)", "%observations.where(coalesce(note.text, method.text).exists()).id",
    "%observations.first().coalesce($this.id)",
    // defineVariable: the rest of the chain, and the subexpressions of its later steps, read the value
    "%observations.select(defineVariable('obs', id).note.select(text & '|' & %obs))", "%observations.defineVariable('n', count()).select(id & '/' & %n.toString())",
    "%observations.where(defineVariable('s', status).exists(%s = 'final')).id", "%numbers.defineVariable('top', last()).select($this < %top)",
    "%observations.select(defineVariable('d', effective.ofType(dateTime)).coalesce(%d, effective.ofType(Period).start))", "defineVariable('all').select(%all.count())",
    "%observations.select(defineVariable('a', id).defineVariable('b', status).select(%a & ':' & %b))",
    // unions
    '%observations | %observations', '%twin | %observations', "(%observations.status | 'final')", '(1 | 2 | 1)', '%numbers | %numbers',
    '%numbers.combine(%numbers)', '%numbers.combine(%empty).sum()', '%empty.combine(%observations.status)', '(1 | 2).combine(1).count()',
    // membership
    "'final' in %observations.status", "'draft' in %observations.status", '%empty in %observations.status', "'final' in %empty",
    "%observations.where(id in ('o1' | 'o3')).id", '(2 in %numbers)', '(5 in %numbers)', "('o2' in %observations.id)",
    "%observations.status contains 'final'", "%observations.status contains 'draft'", '%observations.status contains %empty', "%empty contains 'final'",
    "%observations.where(('o1' | 'o3') contains id).id", '(%numbers contains 2.5)', "%observations.where(code.text.lower() contains 'pain').id",
    // xor and implies, over true, false and empty on either side
    'true xor false', 'true xor true', '%empty xor true', 'false xor %empty',
    'false implies %empty', 'true implies false', 'true implies %empty', '%empty implies true', '%empty implies false', "%observations.exists() implies %numbers.count() = 3",
    // arithmetic and strings
    '%numbers.sum()', '(7 * 100 / 9).round(0)', '(10 / 3).round(2)', '1 / 0', '%numbers.first() + 2.5', "'a' + 'b'", "'a' & %empty & 'b'",
    '(0.1 + 0.2)', '(2.345).round(2)', '(0 - 2.5).round(0)', '(0 - 5.5).abs()', '(2.7).floor()', '(0 - 2.5).floor()', '(3).floor()', '%empty.floor()', '(9 * 3 / 7).floor()',
    "%observations.effective.ofType(dateTime).first().toString() & '|' & %observations.value.ofType(integer).toString()",
    "'3|4'.split('|').last().toDecimal()", "'x'.toDecimal()", "(5).toString()", "(5.5).toString()", 'true.toString()',
    "'abc'.contains('')", "'abc'.startsWith('ab')", "'ab\ncd'.matches('b.c')", "'Abc'.upper()",
    // string literals with escapes (FHIRPath's \n, \r, \t, \f, \uXXXX; any other escaped character stands for itself)
    "'a\\nb' & '\\r\\t\\f'", "'it\\'s' & '\\\"q\\\"' & '\\`b\\`'", "'\\u00e9t\\u00E9'", "'back\\\\slash \\/ \\q'",
    // comparisons and sorting, dates of one shape
    '%observations.effective.ofType(dateTime).sort()', "%observations.select(effective.ofType(dateTime).toString() & '|' & id).sort().last()",
    '%observations.effective.ofType(dateTime).first() = %observations.effective.ofType(dateTime).last()',
    '%observations.effective.ofType(dateTime) | %observations.effective.ofType(dateTime)', '%numbers.first() < %numbers.last()', "'b' < 'a'",
    "%observations.effective.ofType(dateTime).first().daysTo(%observations.effective.ofType(dateTime).last())",
    '%observations.status = %observations.status', '%observations.id = %empty',
    // all(): true for an empty input; false at the first item that does not give true
    "%observations.all(status = 'final')", "%observations.all(id.exists())", "%empty.all(false)", "%observations.all(note.text = 'with drug')",
    "%observations.where(%numbers.all($this > 0)).count()", "%observations.select(note.all(text.exists()))",
    // join(): strings joined, with or without a separator; an empty input gives nothing
    "%observations.id.join('|')", '%observations.id.join()', "%empty.join(',')", "'3|4|5'.split('|').skip(1).join('|')", "%observations.select(id).join(%empty)",
    // pack functions on inputs beyond the table of expected answers below
    '%observations.value.ofType(Quantity).value.grouped()', "'1000'.grouped()", '%empty.grouped()', '%quantities.first().grouped()', '%numbers.last().grouped()',
    '%today', '%now', 'iif(%flags.first(), %today, %now)', '%observations.select(%today)',
    '%today.daysTo(%now)',
    '%flags.yesNo()', '%numbers.yesNo()', '%empty.exists().yesNo()', "%units.where(unitCode() = 'ug/d').value", '%empty.unitCode()',
  ])('%s', (expression) => {
    const { native, reference } = both(expression);
    expect(native).toEqual(reference);
  });
});

describe("the pack's own functions answer the same in both engines, and what the cards need", () => {
  it.each([
    // grouped(): numbers as the placeholders write them
    ['(999).grouped()', ['999']],
    ['(4800).grouped()', ['4,800']],
    ['(986.3).grouped()', ['986.3']],
    ['(0 - 1234567.25).grouped()', ['-1,234,567.25']],
    ['(1000000000 * 1000000000000).grouped()', ['1e+21']],
    ['%numbers.grouped()', []],
    // yesNo(): a truth as the placeholders write it
    ['true.yesNo()', ['yes']],
    ['(1 > 2).yesNo()', ['no']],
    ['%empty.yesNo()', ['not known']],
    ['(true | false).yesNo()', []],
    ["'yes'.yesNo()", []],
    // unitCode(): a UCUM code, else the unit's text; a plain number is 1; nothing for a unit not converted
    ['%units.unitCode()', ['mL/d', 'ug/d', 'mg/d', 'ug/h', '1']],
    ['%units.select(unitCode().empty())', [false, false, false, false, true, false]],
    ["%units.select(unitCode().exists($this = '1'))", [false, false, false, false, false, true]],
    ['%quantities.unitCode()', ['mg']],
    // latest(): the item written last as a moment, whatever the zone or precision; of equal ones the last
    ["%written.latest('authoredOn').id", ['b']],
    // (ordered as text, as the pack's criteria did before latest(), 'a' came last)
    ["%written.select('written ' & authoredOn.toString()).sort().last()", ['written yesterday']],
    ["%written.where(id != 'x').select('written ' & authoredOn.toString()).sort().last()", ['written 2026-06-01T10:00:00+05:00']],
    ["%writtenTies.latest('authoredOn').id", ['d']],
    ["%writtenTies.where(id != 'c' and id != 'd').latest('authoredOn').id", ['e']],
    ["%written.where(id = 'x' or id = 'y').latest('authoredOn')", []],
    ["%written.where(id = 'z').latest('authoredOn').authoredOn", ['2026-06-01']],
    ["%observations.latest('effectiveDateTime').id", ['o2']],
    ["%empty.latest('authoredOn')", []],
  ])('%s', (expression, expected) => {
    const { native, reference } = both(expression);
    expect(native).toEqual(expected);
    expect(reference).toEqual(expected);
  });
});

describe('where the native engine is not sure, fhirpath.js answers', () => {
  it.each([
    ['dates in different zones', '%mixedZones.sort()'],
    ['decimals closer than fhirpath.js compares', '0.1 + 0.2 > 0.3'],
    ['a string function of several items', '%observations.status.lower()'],
    ['arithmetic on several items', '%numbers + 1'],
    ['membership of several items', '%observations.status in %observations.status'],
    ['a join() of numbers (fhirpath.js: an error)', "%numbers.join(',')"],
    ['containment of several items', '%observations.status contains %observations.status'],
    ['unions of distinct quantities', '%quantities.first() | %quantities.last()'],
    ['a choice element of an untyped value', '%untypedChoice.value'],
    ['a date against text (fhirpath.js: never equal)', "%observations.effective.ofType(dateTime).first() = '2026-03-01T10:00:00Z'"],
    ['a choice element recorded with two types (fhirpath.js reads one of them)', '%twoTypes.performed.ofType(Period).start'],
    ['dates of different precision in a union', '%observations.effective.ofType(dateTime) | %observations.effective.ofType(Period).start'],
    ['dates of unknown type', '%mixedZones.first() < %observations.effective.ofType(dateTime).first()'],
    ['a defined variable read in another operand (fhirpath.js: undefined)', "defineVariable('v', 1).exists() and %v = 1"],
    ['a defined variable read after the body that defined it', "%observations.select(defineVariable('v', id)).select(%v)"],
    ['a name defined again inside its own chain', "defineVariable('v', 1).select(defineVariable('v', 2))"],
    ['a definition that reuses a variable of the call', "defineVariable('numbers', 1).select(%numbers)"],
  ])('%s: %s', (_why, expression) => {
    const { native, reference } = both(expression);
    expect(native).toBe('fallback');
    const combined = compileExpression(expression, table, natives).fn;
    let answer: unknown;
    try {
      answer = combined({}, vars);
    } catch (err) {
      answer = `error: ${(err as Error).message}`;
    }
    expect(answer).toEqual(reference);
  });

  it.each([
    ['a date literal', '@2026-01-01 < %observations.effective.ofType(dateTime).first()'],
    ['type tests', '%observations.value is Quantity'],
    ['equivalence', "%observations.status ~ 'FINAL'"],
    ['an unknown function', '%observations.descendants()'],
    ['$index', '%observations.where($index > 0)'],
    ['a where() criterion that is data, not a computed boolean', '%flags.where($this)'],
    ['a decimal literal whose text is not its value', "(2.50).toString()"],
    ['a function argument that reads the focus', "%observations.where(status.contains(id))"],
    ['a variable name that is not a literal', "defineVariable('v' & 'w', 1).select(%vw)"],
  ])('%s is left to fhirpath.js at compile time', (_why, expression) => {
    const native = compileNative(expression, natives);
    expect(typeof native).toBe('object');
    const compiled = compileExpression(expression, table, natives);
    expect(compiled.native).toBeUndefined();
    expect(compiled.fn).toBe(compiled.reference);
  });
});
