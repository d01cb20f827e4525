/**
 * A database of its own for a test, on the run's real PostgreSQL server (test/support/postgres-server.ts).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The URL of the run's server, or a failure that says why there is none.
 * @returns the URL of its `postgres` database.
 */
export function postgresServerUrl(): string {
  const url = process.env['ITCDS_TEST_POSTGRES_URL'] ?? 'unavailable: the test run has no PostgreSQL global setup';
  if (url.startsWith('unavailable: ')) throw new Error(url.slice('unavailable: '.length));
  return url;
}

/**
 * The CA certificate that signed the run's server certificate, for connecting with `sslmode=verify-full`.
 * @returns its path.
 */
export function postgresCa(): string {
  // Fails saying why when the run has no server at all.
  postgresServerUrl();
  const ca = process.env['ITCDS_TEST_POSTGRES_CA'];
  if (ca === undefined) throw new Error('the test run\'s PostgreSQL server has no CA certificate');
  return ca;
}

/**
 * Creates an empty database.
 * @param server - the URL of a database on the server to create it on; the run's server by default.
 * @returns its URL.
 */
export async function freshPostgresDatabase(server: string = postgresServerUrl()): Promise<string> {
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  const name = `itcds_${randomBytes(6).toString('hex')}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Drops a database under whoever has it open (the server ends their connections): a real loss of the database.
 * @param url - the database's URL, from freshPostgresDatabase.
 * @param server - the server it was created on, as given to freshPostgresDatabase; the run's server by default.
 */
export async function dropPostgresDatabase(url: string, server: string = postgresServerUrl()): Promise<void> {
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
