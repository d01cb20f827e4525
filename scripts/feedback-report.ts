/**
 * `npm run feedback:report -- [--since YYYY-MM-DD] [--until YYYY-MM-DD]`: what clinicians did with each rule's
 * cards (shown, accepted, overridden and why, no feedback) for the hook calls received in a period, by default the
 * 30 days before today and today; `--until` is the day the period ends before (UTC). Reads the stores the service uses
 * (DATABASE_URL, or the SQLite files of STORE_PATH and AUDIT_STORE_PATH) while it runs or not, and records the read
 * in the audit log as any read of it is. Prints a markdown table. Exit 2 on unusable arguments or a missing file;
 * 1 when a store could not be read.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { cardUuids, FeedbackTally, renderFeedbackReport } from '../src/audit/feedback-report.js';
import { sqlitePaths } from '../src/config.js';
import { createLogger } from '../src/log.js';
import type { AuditStore, PageCursor } from '../src/store/audit-store.js';
import { auditStore } from '../src/store/audit-store.js';
import { openDatabase, openPrivateDatabase, sqliteOpenProblem } from '../src/store/database.js';
import { feedbackStore, postgresFeedbackStore } from '../src/store/feedback-store.js';
import type { FeedbackStore } from '../src/store/feedback-store.js';
import { postgresAuditStore } from '../src/store/postgres-audit-store.js';
import { openSharedDatabase } from '../src/store/postgres.js';

const usage = 'usage: npm run feedback:report -- [--since YYYY-MM-DD] [--until YYYY-MM-DD]';
const DAY_MS = 86_400_000;
const PAGE = 200;

/** A UTC date as given, or undefined when it is not one. */
function utcDate(text: string): Date | undefined {
  const date = new Date(`${text}T00:00:00Z`);
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text) ? date : undefined;
}

/** The period the arguments name; undefined when they are unusable. */
function period(args: readonly string[], today: Date): { since: Date; until: Date } | undefined {
  const given = new Map<string, Date | undefined>();
  for (let i = 0; i < args.length; i += 2) {
    const [flag, value] = [args[i] ?? '', args[i + 1]];
    if ((flag !== '--since' && flag !== '--until') || value === undefined || given.has(flag)) return undefined;
    given.set(flag, utcDate(value));
  }
  if ([...given.values()].includes(undefined)) return undefined;
  // By default today is in: the period ends before tomorrow.
  const until = given.get('--until') ?? new Date(today.getTime() + DAY_MS);
  const since = given.get('--since') ?? new Date((given.get('--until') ?? today).getTime() - 30 * DAY_MS);
  return since < until ? { since, until } : undefined;
}

/** The stores the service would use; a SQLite file that is not there is not made. */
async function openStoresToRead(): Promise<{ feedback: FeedbackStore; audit: AuditStore; close: () => Promise<void> } | string> {
  const url = process.env['DATABASE_URL']?.trim();
  if (url) {
    const shared = openSharedDatabase(url, createLogger('warn', process.stderr), { retryAfterS: 0 });
    await shared.ready;
    return { feedback: postgresFeedbackStore(shared), audit: postgresAuditStore(shared), close: () => shared.close() };
  }
  const { storePath, auditStorePath } = sqlitePaths();
  const missing = [storePath, auditStorePath].filter((p) => p === ':memory:' || !existsSync(p));
  if (missing.length > 0) return `no such file: ${missing.join(', ')} (STORE_PATH, AUDIT_STORE_PATH, or DATABASE_URL name the service's stores)`;
  const storeDb = openDatabase(storePath);
  const auditDb = openPrivateDatabase(auditStorePath, 'NORMAL').db;
  return {
    feedback: feedbackStore(storeDb),
    audit: auditStore(auditDb),
    close: () => {
      storeDb.close();
      auditDb.close();
      return Promise.resolve();
    },
  };
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const today = new Date(new Date().toISOString().slice(0, 10));
  const chosen = period(args, today);
  if (chosen === undefined) {
    process.stderr.write(`${usage}\n(dates as 2026-11-01; --since before --until)\n`);
    return 2;
  }
  let stores: Awaited<ReturnType<typeof openStoresToRead>>;
  try {
    stores = await openStoresToRead();
  } catch (err) {
    // It records its read in the audit log: the files must be writable, as the service's are.
    process.stderr.write(`the stores could not be opened: ${sqliteOpenProblem(err, 'write') ?? (err as Error).message}\n`);
    return 1;
  }
  if (typeof stores === 'string') {
    process.stderr.write(`${stores}\n`);
    return 2;
  }
  try {
    // Page by page, each with the feedback on its cards: what is held does not grow with the period or the feedback.
    const tally = new FeedbackTally();
    let before: PageCursor | undefined;
    for (;;) {
      const page = await stores.audit.search({ since: chosen.since, until: chosen.until, limit: PAGE, ...(before ? { before } : {}) });
      const cards = cardUuids(page);
      tally.addPage(page, cards.length > 0 ? await stores.feedback.forCards(cards) : []);
      const last = page.at(-1);
      if (page.length < PAGE || !last) break;
      before = { at: new Date(last.receivedAt), id: last.id };
    }
    const report = tally.report(await stores.feedback.count());
    const day = (d: Date): string => d.toISOString().slice(0, 10);
    // Recorded before anything is shown, as every read of the audit log is.
    await stores.audit.recordRead({ at: new Date(), reader: `npm run feedback:report (${os.userInfo().username})`, address: os.hostname(), outcome: 'allowed', query: `feedback:report --since ${day(chosen.since)} --until ${day(chosen.until)}`, rows: report.calls });
    process.stdout.write(renderFeedbackReport(report, { since: day(chosen.since), until: day(chosen.until) }));
    return 0;
  } catch (err) {
    process.stderr.write(`the report stopped: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await stores.close();
  }
}

process.exitCode = await main();
