/**
 * Who may read the audit log: the JSON file named by AUDIT_READERS_FILE, a list of named readers each with the
 * SHA-256 of their bearer token, e.g. `[{"name": "pa-lead", "tokenSha256": "9f86d0..."}]`. The file holds no
 * secret; `npm run audit:reader -- <name> <file>` makes a token, prints it once, and writes its hash. No file: the
 * log is not readable over HTTP at all (no default reader, in any mode). A change to the file applies at the next
 * read, without a restart, so a reader who leaves loses access at once; a file that became unusable lets nobody in.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { ConfigError } from '../config.js';
import type { Logger } from '../log.js';

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

/** The readers of the file as it is now. */
export type CurrentReaders = () => readonly AuditReader[];

/** What tells one version of the file from another (a rename gives a new inode; a rewrite a new time or size). */
function versionOf(file: string): string {
  try {
    const s = statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
}

/**
 * Reads AUDIT_READERS_FILE now (an unusable file stops the start-up) and again whenever it changes. A later version
 * that cannot be used (malformed, half-written, removed) is logged and admits nobody until it is fixed: keeping the
 * old list could keep a removed reader in.
 * @param file - the path.
 * @param log - where reloads and unusable versions are reported (the count of readers, never a hash).
 * @returns the readers of the current version, checked at each call (one stat of the file).
 * @throws ConfigError when the file cannot be used at start.
 */
export function watchReaders(file: string, log: Logger): CurrentReaders {
  let version = versionOf(file);
  let readers: readonly AuditReader[] = loadReaders(file);
  return () => {
    const now = versionOf(file);
    if (now === version) return readers;
    version = now;
    try {
      readers = loadReaders(file);
      log.info({ readers: readers.length }, 'AUDIT_READERS_FILE changed: its readers apply from this read on');
    } catch (err) {
      readers = [];
      log.error({ err: { message: (err as Error).message } }, 'AUDIT_READERS_FILE changed and cannot be used: nobody may read the audit log until it is fixed');
    }
    return readers;
  };
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
