import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { requestText, withoutTokens } from './record-invocations.js';

const req = (body: unknown, contentType = 'application/json') => ({ body, headers: { 'content-type': contentType } }) as unknown as Request;

describe('the request body kept in the audit log', () => {
  const auth = { access_token: 'at-1', refresh_token: 'rt-1', id_token: 'it-1', token_type: 'Bearer', scope: 'patient/*.read', subject: 'cds' };

  it('removes every token the EHR lent, and keeps the rest of fhirAuthorization', () => {
    expect(withoutTokens({ hook: 'order-sign', fhirAuthorization: auth })).toEqual({
      hook: 'order-sign', fhirAuthorization: { ...auth, access_token: '[removed]', refresh_token: '[removed]', id_token: '[removed]' },
    });
    expect(withoutTokens({ hook: 'order-sign', fhirAuthorization: 'not an object' })).toEqual({ hook: 'order-sign', fhirAuthorization: 'not an object' });
    expect(withoutTokens([1, 2])).toEqual([1, 2]);
  });

  it('keeps the bytes as received when they carry no token', () => {
    const raw = Buffer.from('{ "hook" : "order-sign" }');
    expect(requestText(req({ hook: 'order-sign' }), raw)).toBe(raw);
    expect(requestText(req({ hook: 'order-sign', fhirAuthorization: { token_type: 'Bearer' } }, 'application/json; charset=UTF-8'), raw)).toBe(raw);
  });

  it('serializes the parsed body without its tokens when the bytes carry one', () => {
    const raw = Buffer.from(JSON.stringify({ hook: 'order-sign', fhirAuthorization: auth }));
    const kept = requestText(req({ hook: 'order-sign', fhirAuthorization: auth }), raw);
    expect(typeof kept).toBe('string');
    expect(kept).not.toContain('at-1');
    expect(JSON.parse(kept as string)).toEqual(withoutTokens({ hook: 'order-sign', fhirAuthorization: auth }));
  });

  it('serializes the parsed body when the bytes could hide a token: a duplicate key, or a key spelled with escapes', () => {
    const duplicate = Buffer.from('{"hook":"h","fhirAuthorization":{"access_token":"hidden-1"},"fhirAuthorization":{"scope":"s"}}');
    const parsed = JSON.parse(duplicate.toString()) as unknown;
    expect(requestText(req(parsed), duplicate)).toBe('{"hook":"h","fhirAuthorization":{"scope":"s"}}');
    const escaped = Buffer.from('{"hook":"h","x":{"access\\u005ftoken":"hidden-2"},"x":1}');
    expect(requestText(req(JSON.parse(escaped.toString()) as unknown), escaped)).toBe('{"hook":"h","x":1}');
  });

  it('serializes the parsed body when the bytes are not UTF-8 or were not kept, and keeps nothing when none was read', () => {
    expect(requestText(req({ hook: 'h' }, 'application/json; charset=utf-16le'), Buffer.from('x'))).toBe('{"hook":"h"}');
    expect(requestText(req({ hook: 'h' }), undefined)).toBe('{"hook":"h"}');
    expect(requestText(req(undefined), undefined)).toBeUndefined();
  });
});
