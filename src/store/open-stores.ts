/**
 * Opens where the service keeps its state, from the configuration. With DATABASE_URL, feedback, the JWT replay store
 * and the audit log go to the shared PostgreSQL database, so that instances on several machines share them; without
 * it, feedback and the replay store go to the SQLite file at STORE_PATH (shared by the processes of one machine) and
 * the audit log to its own owner-only file at AUDIT_STORE_PATH.
 */
import { existsSync } from 'node:fs';
import { AuditSpool } from '../audit/audit-spool.js';
import { auditWriter } from '../audit/audit-writer.js';
import type { AuditWriter } from '../audit/audit-writer.js';
import { postgresAuditWriter } from '../audit/postgres-audit-writer.js';
import { ConfigError } from '../config.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { auditStore } from './audit-store.js';
import type { AuditStore } from './audit-store.js';
import { openDatabase, openPrivateDatabase, sqliteOpenProblem } from './database.js';
import { feedbackStore, postgresFeedbackStore } from './feedback-store.js';
import type { FeedbackStore } from './feedback-store.js';
import { compressInWorker } from './body-compressor.js';
import { postgresAuditStore } from './postgres-audit-store.js';
import { openSharedDatabase } from './postgres.js';
import { postgresReplayStore, replayStore } from './replay-store.js';
import type { ReplayStore } from './replay-store.js';

/** The opened stores. */
export interface Stores {
  readonly feedback: FeedbackStore;
  readonly replay: ReplayStore;
  /** The audit log, read here and written through `auditWriter`. */
  readonly audit: AuditStore;
  readonly auditWriter: AuditWriter;
  /** Settles when the stores can be used (DATABASE_URL reached, its tables made); rejects when they cannot. */
  readonly ready: Promise<void>;
  /**
   * Asks the database a trivial question now (readiness): resolves with what it is; with DATABASE_URL, throws the
   * 503 a call would get while it cannot be reached (or its tables are not made yet).
   */
  check(): Promise<string>;
  /** Writes what the audit writer holds, then closes every connection. */
  close(): Promise<void>;
}

/**
 * Warns when this machine's SQLite files exist beside a DATABASE_URL: the service no longer reads them, so what they
 * hold (feedback, the audit log of the calls before the move) is not in the shared log until copied.
 */
function warnOfUnreadFiles(config: Config, log: Logger): void {
  const files = [config.storePath, config.auditStorePath].filter((path) => path !== ':memory:' && existsSync(path));
  if (files.length > 0) log.warn({ files }, 'DATABASE_URL is set, so these SQLite files (STORE_PATH, AUDIT_STORE_PATH) are not read: copy what they hold with npm run store:copy, then move them away');
}

/**
 * Warns when DATABASE_URL reaches another machine without TLS: the audit log it carries holds patient data. Not
 * refused: a private network or a local proxy that encrypts may be the deployment's choice.
 */
function warnOfPlainConnection(url: string, log: Logger): void {
  const parsed = new URL(url);
  const mode = parsed.searchParams.get('sslmode');
  const ssl = parsed.searchParams.get('ssl');
  const encrypted = (mode !== null && mode !== 'disable') || ssl === 'true' || ssl === '1';
  // A `host` parameter overrides the URL's host for the driver; one starting with `/` is a Unix socket.
  const host = parsed.searchParams.get('host') ?? parsed.hostname.replace(/^\[|\]$/g, '');
  const local = host === '' || host.startsWith('/') || host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (!encrypted && !local) log.warn({ host }, 'DATABASE_URL reaches another machine without TLS, and the audit log it carries holds patient data: add sslmode=verify-full to it, with sslrootcert=<the CA certificate file> for a private CA');
}

/** Where audit records the database or the audit file did not take are kept (none for an in-memory store). */
function auditSpool(config: Config, log: Logger): AuditSpool | undefined {
  return config.auditSpoolDir ? new AuditSpool(config.auditSpoolDir, config.auditSpoolMaxMb * 1024 * 1024, log, config.auditSpoolHost) : undefined;
}

function sharedStores(url: string, config: Config, log: Logger): Stores {
  warnOfUnreadFiles(config, log);
  warnOfPlainConnection(url, log);
  const shared = openSharedDatabase(url, log, { poolSize: config.databasePoolSize });
  const compressor = compressInWorker(log);
  const audit = postgresAuditStore(shared, compressor);
  const spool = auditSpool(config, log);
  const writer = postgresAuditWriter(audit, log, spool ? { spool } : {});
  return {
    feedback: postgresFeedbackStore(shared),
    replay: postgresReplayStore(shared),
    audit,
    auditWriter: writer,
    ready: shared.ready,
    check: async () => {
      await shared.run('readiness check', (pool) => pool.query('SELECT 1'));
      return 'PostgreSQL (DATABASE_URL)';
    },
    close: async () => {
      await writer.close();
      await compressor.close();
      await shared.close();
    },
  };
}

/** Why a SQLite file could not be opened, in the words an operator acts on. */
function whyNotOpened(err: unknown): string {
  const fsCode = (err as NodeJS.ErrnoException | null)?.code;
  if (fsCode === 'EEXIST' || fsCode === 'ENOTDIR') return 'a part of its folder is a file, not a folder';
  if (fsCode === 'EACCES' || fsCode === 'EPERM') return 'permission denied (the service\'s user must be able to write the file and its folder)';
  if (fsCode === 'EROFS') return 'the file system is read-only';
  return sqliteOpenProblem(err, 'write') ?? (err instanceof Error ? err.message : String(err));
}

/**
 * Opens what a setting's SQLite file holds; a file that cannot be used stops the start with the setting, the path
 * and the reason, not a stack trace.
 */
function openNamed<T>(setting: 'STORE_PATH' | 'AUDIT_STORE_PATH', path: string, open: () => T): T {
  try {
    return open();
  } catch (err) {
    throw new ConfigError(`${setting}: ${path} cannot be used: ${whyNotOpened(err)}`);
  }
}

function machineStores(config: Config, log: Logger): Stores {
  const { db, feedback, replayDb, replay } = openNamed('STORE_PATH', config.storePath, () => {
    const db = openDatabase(config.storePath);
    // The replay store is written on every authenticated call, synchronously: waiting for the disk there (0.2 ms
    // on this machine's disk, milliseconds on many) would stall every request. A seen JWT id survives a crash of
    // the process; after a power loss the last ids may be forgotten, and those tokens expire within JWT_MAX_AGE_S.
    const replayDb = openDatabase(config.storePath, 'NORMAL');
    return { db, feedback: feedbackStore(db, log), replayDb, replay: replayStore(replayDb, log) };
  });
  // The audit log is written once per hook call, after the answer went out, in its own owner-only file. NORMAL for
  // the reason above: a record survives a crash of the process; a power loss may take the last moments' records.
  const { auditDb, audit } = openNamed('AUDIT_STORE_PATH', config.auditStorePath, () => {
    const auditDb = openPrivateDatabase(config.auditStorePath, 'NORMAL');
    return { auditDb, audit: auditStore(auditDb.db, log) };
  });
  if (auditDb.openToOthers) log.warn('AUDIT_STORE_PATH is readable or writable by its group or by others; it holds patient data (chmod 600)');
  const spool = auditSpool(config, log);
  const writer = auditWriter(audit, config.auditStorePath, log, spool ? { spool } : {});
  return {
    feedback,
    replay,
    audit,
    auditWriter: writer,
    ready: Promise.resolve(),
    check: () => {
      db.prepare('SELECT 1').get();
      return Promise.resolve('SQLite (STORE_PATH)');
    },
    close: async () => {
      await writer.close();
      auditDb.db.close();
      replayDb.close();
      db.close();
    },
  };
}

/**
 * Opens the stores the configuration names.
 * @param config - DATABASE_URL and DATABASE_POOL_SIZE, or STORE_PATH and AUDIT_STORE_PATH.
 * @param log - where faults are reported.
 * @returns the stores; await `ready` before relying on them.
 */
export function openStores(config: Config, log: Logger): Stores {
  return config.databaseUrl ? sharedStores(config.databaseUrl, config, log) : machineStores(config, log);
}
