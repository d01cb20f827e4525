import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureLog } from '../../test/support/harness.js';
import { ConfigError } from '../config.js';
import { newReaderToken, parseReaders, readerFor, tokenHash, watchReaders } from './readers.js';

describe('audit readers', () => {
  const token = newReaderToken();
  const other = newReaderToken();
  const readers = parseReaders([{ name: 'pa-lead', tokenSha256: tokenHash(token) }, { name: 'privacy.officer', tokenSha256: tokenHash(other).toUpperCase() }], 'f');

  it('finds the reader a token belongs to, and nobody for another token', () => {
    expect(readerFor(readers, token)?.name).toBe('pa-lead');
    expect(readerFor(readers, other)?.name).toBe('privacy.officer');
    expect(readerFor(readers, `${token}x`)).toBeUndefined();
    expect(readerFor(readers, '')).toBeUndefined();
    expect(readerFor([], token)).toBeUndefined();
  });

  it('makes tokens of 256 random bits, never the same twice', () => {
    expect(token).toMatch(/^[\w-]{43}$/);
    expect(token).not.toBe(other);
  });

  it.each([
    [{ readers: [] }, 'must be a JSON array'],
    [[{ tokenSha256: tokenHash('a') }], 'f[0].name must be'],
    [[{ name: 'has space', tokenSha256: tokenHash('a') }], 'f[0].name must be'],
    [[{ name: 'a', tokenSha256: 'secret-in-the-clear' }], 'f[0].tokenSha256 must be the 64-hex-digit SHA-256'],
    [[{ name: 'a', tokenSha256: tokenHash('a') }, { name: 'a', tokenSha256: tokenHash('b') }], 'f[1]: reader a is listed twice'],
    [[{ name: 'a', tokenSha256: tokenHash('a') }, { name: 'b', tokenSha256: tokenHash('a') }], "f[1]: the token of b is another reader's too"],
    [[null], 'f[0].name must be'],
  ])('refuses a malformed file at start-up: %j', (raw, message) => {
    expect(() => parseReaders(raw, 'f')).toThrow(ConfigError);
    expect(() => parseReaders(raw, 'f')).toThrow(message);
  });
});

describe('watching the readers file', () => {
  it('refuses to start on an unusable file, and admits nobody once the file is removed', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'itcds-readers-')), 'readers.json');
    writeFileSync(file, 'not json');
    const { log } = captureLog();
    expect(() => watchReaders(file, log)).toThrow(ConfigError);
    const token = newReaderToken();
    writeFileSync(file, JSON.stringify([{ name: 'pa-lead', tokenSha256: tokenHash(token) }]));
    const current = watchReaders(file, log);
    expect(current().map((r) => r.name)).toEqual(['pa-lead']);
    expect(current()).toBe(current());
    rmSync(file);
    expect(current()).toEqual([]);
  });
});
