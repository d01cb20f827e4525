/**
 * How long the audit log is kept: AUDIT_RETENTION_DAYS. CRD says to retain the logs "for access in the event of a
 * dispute" and names no period. The default of 2,190 days (six years) is a configurable choice: it follows the HIPAA
 * documentation-retention period (45 CFR 164.316(b)(2)(i), "6 years from the date of its creation"), which HHS has
 * not said covers audit logs; an organisation's own policy decides. Rows past it are deleted at start-up and then
 * every six hours.
 */
import type { Logger } from '../log.js';
import type { AuditStore } from '../store/audit-store.js';

const DAY_MS = 86_400_000;
/** How often old rows are deleted while the service runs. */
const PRUNE_EVERY_MS = 6 * 60 * 60 * 1000;

/**
 * Deletes rows older than the retention period now, and then every PRUNE_EVERY_MS.
 * @param store - the audit store.
 * @param days - the retention period, in days.
 * @param clock - the current time.
 * @param log - where a failed prune is reported.
 * @returns `stop`, which stops the timer and settles once a prune under way (the first, right after the start)
 * has finished or failed.
 */
export function pruneAuditLog(store: AuditStore, days: number, clock: () => Date, log: Logger): { stop(): Promise<void> } {
  // One prune at a time: a slow one (a large PostgreSQL table) is not joined by the next.
  let running: Promise<void> | undefined;
  const prune = (): Promise<void> =>
    (running ??= store
      .prune(new Date(clock().getTime() - days * DAY_MS))
      .then(
        (deleted) => {
          if (deleted > 0) log.info({ deleted, retentionDays: days }, 'audit rows past their retention deleted');
        },
        (err: unknown) => {
          log.error({ err: { message: (err as Error).message } }, 'audit prune failed; it is tried again later');
        }
      )
      .finally(() => {
        running = undefined;
      }));
  void prune();
  const timer = setInterval(() => void prune(), PRUNE_EVERY_MS);
  timer.unref();
  return {
    stop: () => {
      clearInterval(timer);
      return running ?? Promise.resolve();
    },
  };
}
