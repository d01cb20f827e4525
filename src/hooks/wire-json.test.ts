import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitSummary, MAX_SUMMARY_LENGTH, toWireResponse } from './wire-json.js';

describe('toWireResponse', () => {
  it('removes null, empty strings, empty arrays and empty objects at every depth, keeping cards: []', () => {
    expect(toWireResponse({ cards: [] })).toEqual({ cards: [] });
    const wire = toWireResponse({
      cards: [
        {
          uuid: 'u',
          summary: 's',
          indicator: 'info',
          source: { label: 'l', url: '', topic: { code: 'x', display: undefined } },
          suggestions: [],
          links: [],
          detail: '',
        },
      ],
      systemActions: [],
    });
    expect(wire).toEqual({ cards: [{ uuid: 'u', summary: 's', indicator: 'info', source: { label: 'l', topic: { code: 'x' } } }] });
  });

  it('gives what copying the whole response and dropping empties gives, on random responses', () => {
    // The reference: the first version of the rule, which copied every array and object.
    const reference = (value: unknown): unknown => {
      if (value === null || value === undefined || value === '') return undefined;
      if (Array.isArray(value)) {
        const items = value.map(reference).filter((v) => v !== undefined);
        return items.length > 0 ? items : undefined;
      }
      if (typeof value === 'object') {
        const entries = Object.entries(value).map(([k, v]) => [k, reference(v)] as const).filter(([, v]) => v !== undefined);
        return entries.length > 0 ? Object.fromEntries(entries) : undefined;
      }
      return value;
    };
    const leaf = fc.constantFrom(null, undefined, '', 'text', 0, 1.5, false, true);
    const { value } = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), tie('value'), { maxKeys: 4, noNullPrototype: true })),
    }));
    fc.assert(
      fc.property(value, value, (extra, more) => {
        const card = { uuid: 'u', summary: 's', indicator: 'info', source: { label: 'l' }, extra, more };
        expect(toWireResponse({ cards: [card] as never })).toStrictEqual({ cards: [reference({ ...card })] });
      }),
      { numRuns: 2000 }
    );
  });

  it('keeps false and 0', () => {
    const wire = toWireResponse({ cards: [{ uuid: 'u', summary: 's', indicator: 'info', source: { label: 'l' }, suggestions: [{ uuid: 'v', label: 'x', isRecommended: false }], selectionBehavior: 'any' }] });
    expect((wire['cards'] as { suggestions: { isRecommended: boolean }[] }[])[0]?.suggestions[0]?.isRecommended).toBe(false);
  });
});

describe('fitSummary', () => {
  it('leaves a summary under the limit alone, collapsing whitespace', () => {
    expect(fitSummary('  Covered:   pump refill  ')).toBe('Covered: pump refill');
  });

  it('cuts a long summary to fewer than 140 characters on a word boundary', () => {
    const long = 'Intrathecal morphine refill is part of using the established pump; coverage follows the pump and the qualifying diagnosis G89.4 already on file';
    const fitted = fitSummary(long);
    expect(long.length).toBeGreaterThan(139);
    expect(fitted.length).toBeLessThanOrEqual(MAX_SUMMARY_LENGTH);
    expect(fitted.endsWith('…')).toBe(true);
    expect(long.startsWith(fitted.slice(0, -1))).toBe(true);
    expect(fitted.at(-2)).not.toBe(' ');
  });

  it('collapses every kind of whitespace, also when it is a single character', () => {
    expect(fitSummary('Covered:\tpump\nrefill\u00a0now')).toBe('Covered: pump refill now');
    // Texts over an alphabet heavy in whitespace: the same as collapsing and trimming, for each.
    const text = fc.array(fc.constantFrom('a', 'b', ' ', '  ', '\t', '\n', '\u00a0', '\u2003', '\r\n'), { minLength: 1, maxLength: 12 }).map((parts) => parts.join(''));
    fc.assert(fc.property(text, (t) => fitSummary(t) === t.replace(/\s+/g, ' ').trim()), { numRuns: 500 });
  });

  it('cuts a summary without spaces hard', () => {
    expect(fitSummary('x'.repeat(300)).length).toBe(MAX_SUMMARY_LENGTH);
  });
});
