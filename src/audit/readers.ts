/**
 * Who may read the audit log: the JSON file named by AUDIT_READERS_FILE, a list of named readers each with the
 * SHA-256 of their bearer token, e.g. `[{"name": "pa-lead", "tokenSha256": "9f86d0..."}]`. The file holds no
 * secret; `npm run audit:reader -- <name> <file>` makes a token, prints it once, and writes its hash. No file: the
 * log is not readable over HTTP at all (no default reader, in any mode).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config.js';

/** A configured audit reader. */
export interface AuditReader {
  /** The name recorded with each of their reads. */
  readonly name: string;
  readonly tokenSha256: string;
}

const NAME = /^[\w.@-]{1,64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The SHA-256 of a token, as hex.
 * @param token - the bearer token.
 * @returns 64 hex digits.
 */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * A new random reader token: 32 bytes, base64url.
 * @returns the token.
 */
export function newReaderToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Checks a parsed readers file.
 * @param raw - the parsed JSON.
 * @param where - the file, for messages.
 * @returns the readers.
 * @throws ConfigError naming the entry and field.
 */
export function parseReaders(raw: unknown, where: string): AuditReader[] {
  if (!Array.isArray(raw)) throw new ConfigError(`${where}: must be a JSON array of readers ({"name", "tokenSha256"})`);
  const names = new Set<string>();
  const hashes = new Set<string>();
  return raw.map((entry: unknown, i) => {
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const name = e['name'];
    const hash = typeof e['tokenSha256'] === 'string' ? e['tokenSha256'].toLowerCase() : undefined;
    if (typeof name !== 'string' || !NAME.test(name)) throw new ConfigError(`${where}[${i}].name must be 1-64 letters, digits or . _ @ -`);
    if (hash === undefined || !SHA256_HEX.test(hash)) throw new ConfigError(`${where}[${i}].tokenSha256 must be the 64-hex-digit SHA-256 of the reader's token`);
    if (names.has(name)) throw new ConfigError(`${where}[${i}]: reader ${name} is listed twice`);
    if (hashes.has(hash)) throw new ConfigError(`${where}[${i}]: the token of ${name} is another reader's too`);
    names.add(name);
    hashes.add(hash);
    return { name, tokenSha256: hash };
  });
}

/**
 * Reads AUDIT_READERS_FILE.
 * @param file - the path.
 * @returns the readers.
 * @throws ConfigError when the file cannot be read or is malformed.
 */
export function loadReaders(file: string): AuditReader[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`AUDIT_READERS_FILE ${file}: cannot be read as JSON: ${(err as Error).message}`);
  }
  return parseReaders(raw, `AUDIT_READERS_FILE ${file}`);
}

/**
 * The reader a bearer token belongs to. Every reader's hash is compared in constant time, so the time taken does
 * not tell how close a guess came.
 * @param readers - the configured readers.
 * @param token - the presented token.
 * @returns the reader, or undefined.
 */
export function readerFor(readers: readonly AuditReader[], token: string): AuditReader | undefined {
  const presented = Buffer.from(tokenHash(token), 'hex');
  let found: AuditReader | undefined;
  for (const reader of readers) {
    if (timingSafeEqual(presented, Buffer.from(reader.tokenSha256, 'hex'))) found = reader;
  }
  return found;
}
