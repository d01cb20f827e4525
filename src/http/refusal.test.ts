/**
 * Refusals (HTTP errors, failed client authentication) are answered and logged by their message alone, so they skip
 * the stack capture that made a flood of refused calls expensive; every other error must still carry its stack, for
 * the log of an unexpected fault.
 */
import { describe, expect, it } from 'vitest';
import { AuthFailure } from '../security/verify-jwt.js';
import { HttpError } from './outcomes.js';

const nested = <T>(depth: number, make: () => T): T => (depth === 0 ? make() : nested(depth - 1, make));
const frames = (err: Error): number => (err.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at ')).length;

describe('refusals', () => {
  it('carry their message and class but no stack frames', () => {
    const http = nested(10, () => new HttpError(429, [{ code: 'throttled', message: 'Too many calls; retry in 1 s' }], { 'Retry-After': '1' }));
    expect(http).toBeInstanceOf(Error);
    expect(http.message).toBe('Too many calls; retry in 1 s');
    expect(http.status).toBe(429);
    expect(http.stack).toContain('HttpError: Too many calls');
    expect(frames(http)).toBe(0);
    const auth = nested(10, () => new AuthFailure('not a well-formed JWT'));
    expect(auth).toBeInstanceOf(Error);
    expect(auth.message).toBe('not a well-formed JWT');
    expect(frames(auth)).toBe(0);
  });

  it('leave every other error its stack, at the limit the process had set', () => {
    const before = Error.stackTraceLimit;
    expect(frames(nested(10, () => new Error('fault')))).toBeGreaterThan(5);
    new HttpError(400, [{ code: 'invalid', message: 'bad' }]);
    new AuthFailure('bad');
    expect(Error.stackTraceLimit).toBe(before);
    expect(frames(nested(10, () => new Error('fault')))).toBeGreaterThan(5);
    Error.stackTraceLimit = 3;
    try {
      new HttpError(400, [{ code: 'invalid', message: 'bad' }]);
      expect(Error.stackTraceLimit).toBe(3);
      expect(frames(nested(10, () => new Error('fault')))).toBe(3);
    } finally {
      Error.stackTraceLimit = before;
    }
  });
});
