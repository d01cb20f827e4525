import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatValue } from './render-values.js';

const EN_US = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

describe('formatValue on numbers', () => {
  it('writes small numbers as en-US does, to two decimals', () => {
    expect(formatValue(0)).toBe('0');
    expect(formatValue(999)).toBe('999');
    expect(formatValue(0.125)).toBe(EN_US.format(0.13));
    expect(formatValue(-0.001)).toBe('-0');
    expect(formatValue(12.5)).toBe('12.5');
  });

  it('groups thousands', () => {
    expect(formatValue(1000)).toBe('1,000');
    expect(formatValue(-25000.456)).toBe('-25,000.46');
    expect(formatValue(999.999)).toBe('1,000');
  });

  it('agrees with Intl en-US for any number', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.double({ min: -2000, max: 2000, noNaN: true }), fc.integer({ min: -5000, max: 5000 })), (n) => {
        expect(formatValue(n)).toBe(EN_US.format(Number.isInteger(n) ? n : Number(n.toFixed(2))));
      }),
      { numRuns: 2000 }
    );
  });
});
