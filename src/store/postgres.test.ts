/**
 * The shared database's own duties, on the run's real PostgreSQL: text it cannot hold, and a database that hangs.
 * The hang is a real network stall: a TCP proxy between the pool and the server stops passing bytes (see
 * test/support/tcp-proxy.ts for why a proxy).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { captureLog } from '../../test/support/harness.js';
import { freshPostgresDatabase } from '../../test/support/postgres.js';
import { startTcpProxy } from '../../test/support/tcp-proxy.js';
import { HttpError } from '../http/outcomes.js';
import { postgresFeedbackStore } from './feedback-store.js';
import { openSharedDatabase, pgJson } from './postgres.js';

const toClose: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close();
});

const item = (card: string) => ({ card, outcome: 'accepted' as const, outcomeTimestamp: '2026-11-20T15:05:00Z' });

describe('text PostgreSQL cannot hold', () => {
  it('turns an escaped NUL into U+FFFD in keys and values, and leaves an escaped backslash before u0000 alone', () => {
    expect(pgJson({ 'k\u0000': 'a\u0000b', lit: '\\u0000', both: '\\\u0000' })).toBe('{"k\ufffd":"a\ufffdb","lit":"\\\\u0000","both":"\\\\\ufffd"}');
    expect(JSON.parse(pgJson({ lit: '\\u0000' }))).toEqual({ lit: '\\u0000' });
  });
});

describe('the pool', () => {
  it('holds at most DATABASE_POOL_SIZE connections, however many calls wait', async () => {
    const url = await freshPostgresDatabase();
    const shared = openSharedDatabase(url, captureLog().log, { poolSize: 2 });
    toClose.push(() => shared.close());
    await shared.ready;
    const sleeps = Array.from({ length: 6 }, () => shared.run('sleep', (pool) => pool.query('SELECT pg_sleep(0.3)')));
    const watcher = openSharedDatabase(url, captureLog().log);
    toClose.push(() => watcher.close());
    const sleeping = async (): Promise<number> => {
      const result = await watcher.run('watch', (pool) => pool.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query = 'SELECT pg_sleep(0.3)' AND state = 'active'"));
      return result.rows[0]?.n ?? 0;
    };
    // Sampled while the six calls run, three rounds of two: never more than two at once.
    let done = false;
    const all = Promise.all(sleeps).finally(() => (done = true));
    const seen: number[] = [];
    while (!done) seen.push(await sleeping());
    await all;
    expect(Math.max(...seen)).toBe(2);
  });
});

describe('a database that hangs', () => {
  it('answers 503 after one timeout, then 503 at once without reaching the network, until a call gets through again', async () => {
    const url = new URL(await freshPostgresDatabase());
    const proxy = await startTcpProxy(Number(url.port));
    url.port = String(proxy.port);
    const { lines, log } = captureLog();
    const shared = openSharedDatabase(url.toString(), log, { timeoutMs: 300, retryAfterS: 1 });
    toClose.push(() => proxy.close(), () => shared.close());
    await shared.ready;
    const feedback = postgresFeedbackStore(shared);
    await feedback.save('s', [item('before')], new Date());

    proxy.hold();
    const first = await feedback.save('s', [item('lost-1')], new Date()).catch((err: unknown) => err);
    expect(first).toBeInstanceOf(HttpError);
    expect((first as HttpError).status).toBe(503);
    expect((first as HttpError).headers['Retry-After']).toBe('1');
    const reached = proxy.heldFromClients;
    expect(reached).toBeGreaterThan(0);
    // Within the Retry-After window: refused before any byte is sent, and not logged again.
    for (let i = 0; i < 5; i++) {
      const fast = await feedback.list().catch((err: unknown) => err);
      expect((fast as HttpError).status).toBe(503);
    }
    expect(proxy.heldFromClients).toBe(reached);
    expect(lines.filter((l) => l.includes('shared database (DATABASE_URL) unavailable'))).toHaveLength(1);

    proxy.release();
    // After the window one call tries again; it gets through, and so does every call after it.
    await expect.poll(async () => (await feedback.list().catch(() => [])).map((f) => f.card), { timeout: 10_000, interval: 200 }).toContain('before');
    await feedback.save('s', [item('after')], new Date());
    expect((await feedback.list()).map((f) => f.card)).toEqual(['before', 'after']);
    expect(lines.some((l) => l.includes('reachable again'))).toBe(true);
  });

  it('lets one call at a time try again after the window; the others meanwhile get 503 at once', async () => {
    const url = new URL(await freshPostgresDatabase());
    const proxy = await startTcpProxy(Number(url.port));
    url.port = String(proxy.port);
    const shared = openSharedDatabase(url.toString(), captureLog().log, { timeoutMs: 300, retryAfterS: 0.2 });
    toClose.push(() => proxy.close(), () => shared.close());
    await shared.ready;
    const feedback = postgresFeedbackStore(shared);
    proxy.hold();
    await expect(feedback.list()).rejects.toThrow(HttpError);
    await new Promise((resolve) => setTimeout(resolve, 250));
    // The window is over: this call tries the database, which still hangs, so it stays pending for its timeout.
    const connectionsBefore = proxy.connections;
    let probeSettled = false;
    const probe = feedback.list().finally(() => (probeSettled = true)).catch((err: unknown) => err);
    const others = await Promise.all([1, 2, 3].map(() => feedback.list().catch((err: unknown) => err)));
    expect(others.map((e) => (e as HttpError).status)).toEqual([503, 503, 503]);
    expect(probeSettled).toBe(false);
    expect(((await probe) as HttpError).status).toBe(503);
    // Only the probe may have opened a connection (the hung one it had may be gone); the others opened none.
    expect(proxy.connections - connectionsBefore).toBeLessThanOrEqual(1);
    proxy.release();
  });

  it('does not refuse later calls for a statement the database itself refused', async () => {
    const shared = openSharedDatabase(await freshPostgresDatabase(), captureLog().log, { retryAfterS: 60 });
    toClose.push(() => shared.close());
    await shared.ready;
    const feedback = postgresFeedbackStore(shared);
    // An outcome the parser would refuse reaches the table's check constraint (SQLSTATE 23514).
    const refused = { ...item('x'), outcome: 'ignored' } as unknown as ReturnType<typeof item>;
    await expect(feedback.save('s', [refused], new Date())).rejects.toThrow(HttpError);
    await feedback.save('s', [item('next')], new Date());
    expect((await feedback.list()).map((f) => f.card)).toEqual(['next']);
  });
});
