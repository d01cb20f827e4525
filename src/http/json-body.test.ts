import { describe, expect, it } from 'vitest';
import { jsonDepth, MAX_JSON_DEPTH } from './json-body.js';

/** A value nested `depth` levels, alternating objects and arrays. */
function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? { a: value } : [value];
  return value;
}

describe('jsonDepth', () => {
  it('counts objects and arrays, not primitives', () => {
    expect(jsonDepth('x', 10)).toBe(0);
    expect(jsonDepth(null, 10)).toBe(0);
    expect(jsonDepth({}, 10)).toBe(1);
    expect(jsonDepth({ a: 1, b: [1, { c: null }] }, 10)).toBe(3);
    expect(jsonDepth(nested(7), 10)).toBe(7);
  });

  it('finds the deepest branch wherever it is', () => {
    expect(jsonDepth({ a: {}, b: [{ c: { d: [] } }], e: 1 }, 10)).toBe(5);
    expect(jsonDepth([nested(2), nested(6), nested(1)], 10)).toBe(7);
  });

  it('stops one level past the limit, so a hostile depth costs nothing more', () => {
    expect(jsonDepth(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH);
    expect(jsonDepth(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH + 1);
    expect(jsonDepth(nested(100_000), MAX_JSON_DEPTH)).toBe(MAX_JSON_DEPTH + 1);
  });
});
