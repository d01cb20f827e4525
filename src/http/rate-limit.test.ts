import { describe, expect, it } from 'vitest';
import { TokenBuckets } from './rate-limit.js';

describe('TokenBuckets', () => {
  it('gives each key its own bucket, refilled continuously, and says how long to wait when empty', () => {
    let now = 0;
    const buckets = new TokenBuckets(6, () => now); // one token every 10 s
    expect([1, 2, 3, 4, 5, 6].map(() => buckets.take('a'))).toEqual([0, 0, 0, 0, 0, 0]);
    expect(buckets.take('a')).toBe(10);
    expect(buckets.wait('b')).toBe(0);
    now = 4_000;
    expect(buckets.wait('a')).toBe(6);
    now = 10_000;
    expect(buckets.wait('a')).toBe(0);
    expect(buckets.wait('a')).toBe(0); // wait takes nothing
    expect(buckets.take('a')).toBe(0);
    expect(buckets.take('a')).toBe(10);
    now = 1_000_000;
    expect([1, 2, 3, 4, 5, 6, 7].map(() => buckets.take('a'))).toEqual([0, 0, 0, 0, 0, 0, 10]); // never more than the limit
  });

  it('keeps its memory bounded when callers come from very many addresses', () => {
    let now = 0;
    const buckets = new TokenBuckets(1, () => now);
    for (let i = 0; i < 10_050; i++) buckets.take(`addr-${i}`);
    // The newest keys are still remembered as spent; the oldest were let go to make room.
    expect(buckets.wait('addr-10049')).toBeGreaterThan(0);
    expect(buckets.wait('addr-0')).toBe(0);
    now = 120_000;
    expect(buckets.take('addr-10049')).toBe(0);
  });
});
