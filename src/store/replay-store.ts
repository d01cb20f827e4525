/**
 * JWT ids already seen, so a token cannot be replayed within its lifetime. Kept in the service's SQLite database,
 * which every process on the machine that uses the same STORE_PATH shares, or with DATABASE_URL in PostgreSQL,
 * which instances on several machines share.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { Logger } from '../log.js';
import { onEventLoop } from './database.js';
import { pgText } from './postgres.js';
import type { SharedDatabase } from './postgres.js';

/** Where seen JWT ids are kept. */
export interface ReplayStore {
  /**
   * Records a JWT id.
   * @param issuer - the token's iss.
   * @param jti - the token's jti.
   * @param expiresAt - when the token expires (seconds since the epoch); the id is forgotten after it.
   * @param now - the current time (seconds since the epoch).
   * @returns true when the id is new, false when it was seen before and has not expired.
   */
  claim(issuer: string, jti: string, expiresAt: number, now: number): Promise<boolean>;
}

/**
 * The replay store in a database (its table is created when missing).
 * @param db - the open database.
 * @param log - where a lock that outlasts the store's short wait is reported.
 * @returns the store.
 */
export function replayStore(db: DatabaseSync, log?: Pick<Logger, 'warn'>): ReplayStore {
  db.exec('CREATE TABLE IF NOT EXISTS jwt_seen (issuer TEXT NOT NULL, jti TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (issuer, jti))');
  const purge = db.prepare('DELETE FROM jwt_seen WHERE expires_at < ?');
  const insert = db.prepare('INSERT OR IGNORE INTO jwt_seen (issuer, jti, expires_at) VALUES (?, ?, ?)');
  // Every authenticated call claims its id here, on the event loop.
  const attempt = onEventLoop(db, 'STORE_PATH', log);
  let lastPurge = 0;
  return {
    claim: (issuer, jti, expiresAt, now) =>
      attempt(() => {
        if (now - lastPurge > 60) {
          purge.run(now);
          lastPurge = now;
        }
        return Number(insert.run(issuer, jti, expiresAt).changes) === 1;
      }),
  };
}

/**
 * The replay store in the shared PostgreSQL database (its table is created when it opens). Two instances claiming
 * the same id at once: the primary key lets exactly one insert it.
 * @param shared - the open shared database.
 * @returns the store.
 */
export function postgresReplayStore(shared: SharedDatabase): ReplayStore {
  let lastPurge = 0;
  return {
    claim: (issuer, jti, expiresAt, now) =>
      shared.run('JWT replay check', async (pool) => {
        if (now - lastPurge > 60) {
          lastPurge = now;
          await pool.query('DELETE FROM jwt_seen WHERE expires_at < $1', [now]);
        }
        const inserted = await pool.query('INSERT INTO jwt_seen (issuer, jti, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [pgText(issuer), pgText(jti), expiresAt]);
        return inserted.rowCount === 1;
      }),
  };
}
