import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatValue } from './render-values.js';

const EN_US = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

describe('formatValue on numbers', () => {
  it('writes small numbers as en-US does, to two decimals', () => {
    expect(formatValue(0)).toBe('0');
    expect(formatValue(999)).toBe('999');
    expect(formatValue(0.125)).toBe(EN_US.format(0.13));
    expect(formatValue(12.5)).toBe('12.5');
    expect(formatValue(0.01)).toBe('0.01');
  });

  it('keeps two significant digits under 0.01, so a dose that is not zero is never written 0', () => {
    expect(formatValue(0.0024)).toBe('0.0024');
    expect(formatValue(-0.001)).toBe('-0.001');
    expect(formatValue(0.004567)).toBe('0.0046');
    expect(formatValue(1.5e-9)).toBe('0.0000000015');
    fc.assert(
      fc.property(fc.double({ min: -0.0099, max: 0.0099, noNaN: true }).filter((n) => n !== 0), (n) => {
        const text = formatValue(n);
        expect(text).toMatch(/^-?0\.0*[1-9]\d?$/);
        expect(Math.abs(Number(text) - n)).toBeLessThanOrEqual(Math.abs(n) * 0.05);
      }),
      { numRuns: 2000 }
    );
  });

  it('groups thousands', () => {
    expect(formatValue(1000)).toBe('1,000');
    expect(formatValue(-25000.456)).toBe('-25,000.46');
    expect(formatValue(999.999)).toBe('1,000');
  });

  it('agrees with Intl en-US, to two decimals, for any number from 0.01 up', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.double({ min: -2000, max: 2000, noNaN: true }), fc.integer({ min: -5000, max: 5000 })).filter((n) => n === 0 || Math.abs(n) >= 0.01), (n) => {
        expect(formatValue(n)).toBe(EN_US.format(Number.isInteger(n) ? n : Number(n.toFixed(2))));
      }),
      { numRuns: 2000 }
    );
  });
});
