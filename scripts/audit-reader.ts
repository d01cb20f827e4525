/**
 * `npm run audit:reader -- <name> <readers.json>`: gives a person read access to the audit log. Makes a new random
 * token, writes its SHA-256 under the name in the readers file (created readable by its owner only; an existing
 * entry of that name gets the new token, so this also rotates one), and prints the token once, on stdout. The
 * file never holds the token; hand it to the reader over a channel fit for a password. The file is replaced whole (a
 * new file renamed over it), so the running service (AUDIT_READERS_FILE) never reads it half-written; it applies the
 * change at the next read of the log. Exit 2 on unusable arguments or file.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../src/config.js';
import { newReaderToken, parseReaders, tokenHash } from '../src/audit/readers.js';
import type { AuditReader } from '../src/audit/readers.js';

const usage = 'usage: npm run audit:reader -- <name> <readers.json>';

function main(): number {
  const [name, file, ...rest] = process.argv.slice(2);
  if (!name || !file || rest.length > 0) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  let readers: AuditReader[];
  try {
    readers = existsSync(file) ? parseReaders(JSON.parse(readFileSync(file, 'utf8')), file) : [];
  } catch (err) {
    process.stderr.write(`${file}: ${(err as Error).message}\n`);
    return 2;
  }
  const token = newReaderToken();
  const next = [...readers.filter((r) => r.name !== name), { name, tokenSha256: tokenHash(token) }];
  try {
    parseReaders(next, file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  const staged = `${file}.${process.pid}.tmp`;
  writeFileSync(staged, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  renameSync(staged, file);
  process.stderr.write(`${readers.some((r) => r.name === name) ? 'New token for' : 'Added'} reader ${name} in ${file}; a running service applies it at the next read. The token, shown once:\n`);
  process.stdout.write(`${token}\n`);
  return 0;
}

process.exitCode = main();
