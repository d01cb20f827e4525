import { describe, expect, it } from 'vitest';
import { normalUnit, unitCodeOf } from './units.js';

describe('normalUnit: the spellings of the units the dose math converts', () => {
  it.each([
    ['mg', 'mg'], ['MG', 'mg'], ['milligrams', 'mg'],
    ['ug', 'ug'], ['mcg', 'ug'], ['µg', 'ug'], ['μg', 'ug'], ['Micrograms', 'ug'],
    ['mL', 'mL'], ['ml', 'mL'], ['ML', 'mL'], ['millilitre', 'mL'], ['cc', 'mL'],
    ['d', 'd'], ['day', 'd'], ['24 hours', 'd'], ['h', 'h'], ['hr', 'h'], ['min', 'min'], ['weeks', 'wk'],
    ['mL/d', 'mL/d'], ['ml/day', 'mL/d'], ['mL / 24 hr', 'mL/d'], ['ug/(24.h)', 'ug/d'], ['mcg/hr', 'ug/h'], ['MG/DAY', 'mg/d'], ['mL/min', 'mL/min'], ['mg/wk', 'mg/wk'],
    ['  mL  ', 'mL'],
    ['Day(s)', 'd'], ['Hour(s)', 'h'], ['Week(s)', 'wk'], ['mg/Day(s)', 'mg/d'], ['Dose(s)', '1'],
    ['1', '1'], ['{dose}', '1'], ['{PTM activation}', '1'], ['doses', '1'], ['Times', '1'], ['boluses', '1'],
    ['PTM activations', '1'], ['myPTM  activations', '1'], ['bolus doses', '1'], ['PRN dose', '1'], ['patient-activated boluses', '1'],
  ])('%s is %s', (text, code) => {
    expect(normalUnit(text)).toBe(code);
  });

  it.each(['g', 'kg', 'mg/kg/h', 'mg/kg', 'mL per day', 'units', 'tablets', 'mg doses', 'ml boluses', 'ptm', 'ptm bolus doses', 'doses ptm', 'mL{total}', 'mL/s', 'd/mL', '', '/', 'mg/', 'mcg/mL'])('%s is not converted', (text) => {
    // mcg/mL is a concentration, not an amount per period: the dose math reads concentrations as ratios.
    expect(normalUnit(text)).toBeUndefined();
  });
});

describe('unitCodeOf: which of code and text decides', () => {
  const UCUM = 'http://unitsofmeasure.org';

  it('a UCUM code decides, and the text never overrules it', () => {
    expect(unitCodeOf({ value: 1, system: UCUM, code: 'ug/h', unit: 'mL/day' })).toBe('ug/h');
    expect(unitCodeOf({ value: 1, code: 'mL/h', unit: 'mg/day' })).toBe('mL/h');
    // A UCUM code the dose math does not convert stays unconverted even when the text looks convertible.
    expect(unitCodeOf({ value: 1, system: UCUM, code: 'mg/kg/h', unit: 'mg/h' })).toBeUndefined();
  });

  it('without a UCUM code, the unit text decides; a local code is read only when there is no text', () => {
    expect(unitCodeOf({ value: 1, unit: 'mcg/day' })).toBe('ug/d');
    expect(unitCodeOf({ value: 1, system: 'urn:oid:1.2.3', code: '17', unit: 'mL/hr' })).toBe('mL/h');
    expect(unitCodeOf({ value: 1, system: 'urn:oid:1.2.3', code: 'MG' })).toBe('mg');
    expect(unitCodeOf({ value: 1, system: 'urn:oid:1.2.3', code: '17' })).toBeUndefined();
  });

  it('a quantity with neither unit nor code is a plain number; anything that is not a quantity gives nothing', () => {
    expect(unitCodeOf({ value: 4 })).toBe('1');
    expect(unitCodeOf({ value: 4, system: 'http://unitsofmeasure.org', code: '{dose}', unit: 'mL' })).toBe('1');
    for (const value of ['mg', 5, null, undefined, [], { unit: 7 }]) expect(unitCodeOf(value)).toBeUndefined();
  });
});
