import { describe, expect, it } from 'vitest';
import { turnsDuring } from '../../test/support/turns.js';
import { mapInTurns } from './in-turns.js';

/** Holds the thread for ms milliseconds, as synchronous work does. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spinning
  }
}

describe('work in turns', () => {
  it('keeps the items in order', async () => {
    expect(await mapInTurns([3, 1, 2], (n) => n * 10)).toEqual([30, 10, 20]);
    expect(await mapInTurns([], (n: number) => n)).toEqual([]);
  });

  it('lets waiting work in every few milliseconds: 20 items of 1 ms take several turns, not one', async () => {
    const { result, turns } = await turnsDuring(() => mapInTurns(Array.from({ length: 20 }, (_v, i) => i), (i) => {
      busy(1);
      return i;
    }));
    expect(result).toHaveLength(20);
    // About seven turns of 2-3 ms each; at once it would be none.
    expect(turns).toBeGreaterThanOrEqual(4);
  });

  it('rejects when an item\'s work throws, and does no more items', async () => {
    const seen: number[] = [];
    await expect(mapInTurns([1, 2, 3], (n) => {
      seen.push(n);
      if (n === 2) throw new Error('bad item');
      return n;
    })).rejects.toThrow('bad item');
    expect(seen).toEqual([1, 2]);
  });
});
