/**
 * The PostgreSQL server the benches measure against: BENCH_DATABASE_URL when given, else a throw-away cluster of
 * Debian's PostgreSQL on loopback (the tests' own, test/support/postgres-server.ts).
 */
import startPostgres from '../../test/support/postgres-server.js';

/** A server to measure against, or why there is none; `stop` tears down a throw-away cluster. */
export interface BenchPostgres {
  readonly url?: string;
  readonly why?: string;
  /** Says which server it was, for the report. */
  readonly described: string;
  stop(): void;
}

/**
 * BENCH_DATABASE_URL, else a throw-away cluster, else why there is none.
 * @returns the server.
 */
export async function benchPostgres(): Promise<BenchPostgres> {
  const given = process.env['BENCH_DATABASE_URL']?.trim();
  if (given) return { url: given, described: 'the server of BENCH_DATABASE_URL', stop: () => undefined };
  const stop = await startPostgres();
  const url = process.env['ITCDS_TEST_POSTGRES_URL'] ?? '';
  const described = "a throw-away cluster of Debian's PostgreSQL on loopback, on the same cores";
  return url.startsWith('unavailable: ') ? { why: url.slice('unavailable: '.length), described, stop } : { url, described, stop };
}
