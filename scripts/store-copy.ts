/**
 * `npm run store:copy -- [--store <file>] [--audit <file>]`: copies a machine's SQLite files into the PostgreSQL
 * database of DATABASE_URL, for a service moving to it: feedback from the store file (STORE_PATH) and the audit log
 * from the audit file (AUDIT_STORE_PATH); by default the files those variables name, as the service finds them.
 * Safe to run again, or with the service running (rows already copied are not copied twice); run it once per
 * machine whose files hold what should be kept. Prints what was copied per table. The files are only read.
 * Exit 2 on unusable arguments, no DATABASE_URL, or a file missing or not a SQLite database; 1 when the database
 * could not be used.
 */
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import { DatabaseSync } from 'node:sqlite';
import { sqlitePaths } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { sqliteOpenProblem } from '../src/store/database.js';
import { copyToPostgres } from '../src/store/copy-to-postgres.js';
import type { CopyReport } from '../src/store/copy-to-postgres.js';
import { openSharedDatabase } from '../src/store/postgres.js';

const usage = 'usage: DATABASE_URL=postgres://... npm run store:copy -- [--store <file>] [--audit <file>]';

/** The files named by the arguments, or by STORE_PATH and AUDIT_STORE_PATH; undefined when the arguments are unusable. */
function files(args: readonly string[]): { store?: string; audit?: string; named: boolean } | undefined {
  const given: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i], args[i + 1]];
    if ((flag !== '--store' && flag !== '--audit') || value === undefined || flag in given) return undefined;
    given[flag] = value;
  }
  if (args.length > 0) return { ...(given['--store'] ? { store: given['--store'] } : {}), ...(given['--audit'] ? { audit: given['--audit'] } : {}), named: true };
  const paths = sqlitePaths();
  return { store: paths.storePath, audit: paths.auditStorePath, named: false };
}

/**
 * A source file, opened read-only: a read-write connection, the last one on a file a stopped or killed service left
 * with a WAL file, would fold the WAL into the file when it closes. Read-only, it reads the WAL as it stands.
 */
function open(path: string | undefined): DatabaseSync | undefined {
  if (path === undefined || path === ':memory:' || !existsSync(path)) return undefined;
  if (statSync(path).isDirectory()) throw new Error(`${path} cannot be read: it is a folder, not a SQLite file`);
  try {
    const db = new DatabaseSync(path, { readOnly: true });
    db.exec('PRAGMA busy_timeout = 5000');
    // SQLite reads the file's header at the first statement: a file that is not a database is refused here, before the copy starts.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return db;
  } catch (err) {
    throw new Error(`${path} cannot be read: ${sqliteOpenProblem(err, 'read') ?? (err as Error).message}`, { cause: err });
  }
}

const line = (name: string, t: CopyReport['feedback']): string => `${name}: ${String(t.copied)} copied, ${String(t.present)} already in PostgreSQL`;

async function main(): Promise<number> {
  const url = process.env['DATABASE_URL']?.trim();
  const chosen = files(process.argv.slice(2));
  if (!url || chosen === undefined) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const missing = [chosen.store, chosen.audit].filter((p): p is string => p !== undefined && (p === ':memory:' || !existsSync(p)));
  if (chosen.named ? missing.length > 0 : missing.length === 2) {
    process.stderr.write(`no such file: ${missing.join(', ')}\n`);
    return 2;
  }
  let store: DatabaseSync | undefined;
  let audit: DatabaseSync | undefined;
  try {
    store = open(chosen.store);
    audit = open(chosen.audit);
  } catch (err) {
    store?.close();
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const shared = openSharedDatabase(url, createLogger('warn', process.stderr), { retryAfterS: 0 });
  try {
    await shared.ready;
    const report = await copyToPostgres({ ...(store ? { store } : {}), ...(audit ? { audit } : {}) }, shared, {
      reader: 'npm run store:copy',
      address: os.hostname(),
      query: `store:copy ${chosen.audit ?? ''}`.trim(),
    });
    process.stdout.write(`${[line('feedback', report.feedback), line('hook invocations', report.hookInvocations), line('audit log reads', report.auditReads)].join('\n')}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`the copy stopped: ${(err as Error).message} (what was copied before stays; run it again to go on)\n`);
    return 1;
  } finally {
    store?.close();
    audit?.close();
    await shared.close();
  }
}

process.exitCode = await main();
