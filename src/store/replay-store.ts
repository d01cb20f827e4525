/**
 * JWT ids already seen, so a token cannot be replayed within its lifetime. Kept in the service's SQLite database:
 * every process on the machine that uses the same STORE_PATH shares it.
 */
import type { DatabaseSync } from 'node:sqlite';

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
  claim(issuer: string, jti: string, expiresAt: number, now: number): boolean;
}

/**
 * The replay store in a database (its table is created when missing).
 * @param db - the open database.
 * @returns the store.
 */
export function replayStore(db: DatabaseSync): ReplayStore {
  db.exec('CREATE TABLE IF NOT EXISTS jwt_seen (issuer TEXT NOT NULL, jti TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (issuer, jti))');
  const purge = db.prepare('DELETE FROM jwt_seen WHERE expires_at < ?');
  const insert = db.prepare('INSERT OR IGNORE INTO jwt_seen (issuer, jti, expires_at) VALUES (?, ?, ?)');
  let lastPurge = 0;
  return {
    claim(issuer, jti, expiresAt, now) {
      if (now - lastPurge > 60) {
        purge.run(now);
        lastPurge = now;
      }
      return Number(insert.run(issuer, jti, expiresAt).changes) === 1;
    },
  };
}
