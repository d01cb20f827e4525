/**
 * Feedback and the JWT replay store behave alike in SQLite (STORE_PATH) and in the shared PostgreSQL database
 * (DATABASE_URL), on real servers: the run's PostgreSQL (test/support/postgres-server.ts), each test in a database
 * of its own. PostgreSQL's own duties are tested after: instances racing for one JWT id, and a database that goes
 * away answering 503 without its values in the log.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { captureLog } from '../../test/support/harness.js';
import { dropPostgresDatabase, freshPostgresDatabase } from '../../test/support/postgres.js';
import type { FeedbackItem } from '../hooks/types.js';
import { HttpError } from '../http/outcomes.js';
import { openDatabase } from './database.js';
import { feedbackStore, postgresFeedbackStore } from './feedback-store.js';
import type { FeedbackStore } from './feedback-store.js';
import { openSharedDatabase } from './postgres.js';
import type { SharedDatabase } from './postgres.js';
import { postgresReplayStore, replayStore } from './replay-store.js';
import type { ReplayStore } from './replay-store.js';

const toClose: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(toClose.splice(0).map((close) => close()));
});

async function shared(url?: string): Promise<SharedDatabase> {
  const db = openSharedDatabase(url ?? (await freshPostgresDatabase()), captureLog().log);
  toClose.push(() => db.close());
  await db.ready;
  return db;
}

const backends: [string, () => Promise<{ feedback: FeedbackStore; replay: ReplayStore }>][] = [
  ['SQLite', () => {
    const db = openDatabase(':memory:');
    toClose.push(() => Promise.resolve(db.close()));
    return Promise.resolve({ feedback: feedbackStore(db), replay: replayStore(db) });
  }],
  ['PostgreSQL', async () => {
    const db = await shared();
    return { feedback: postgresFeedbackStore(db), replay: postgresReplayStore(db) };
  }],
];

const accepted: FeedbackItem = { card: 'card-1', outcome: 'accepted', acceptedSuggestions: [{ id: 's-1' }], outcomeTimestamp: '2026-11-20T15:05:00Z' };
const overridden: FeedbackItem = { card: 'card-2', outcome: 'overridden', overrideReason: { reason: { code: 'x', system: 'y', display: 'Z' }, userComment: 'peer-to-peer done' }, outcomeTimestamp: '2026-11-20T15:06:00-05:00' };

describe.each(backends)('%s stores', (_name, open) => {
  it('claims a JWT id once; another issuer may use the same id', async () => {
    const { replay } = await open();
    const now = 1_800_000_000;
    expect(await replay.claim('https://ehr-a.example', 'jti-1', now + 300, now)).toBe(true);
    expect(await replay.claim('https://ehr-a.example', 'jti-1', now + 300, now + 1)).toBe(false);
    expect(await replay.claim('https://ehr-b.example', 'jti-1', now + 300, now + 1)).toBe(true);
  });

  it('forgets an expired id after the once-a-minute purge', async () => {
    const { replay } = await open();
    const now = 1_800_000_000;
    expect(await replay.claim('iss', 'old', now + 10, now)).toBe(true);
    expect(await replay.claim('iss', 'old', now + 10, now + 5)).toBe(false);
    expect(await replay.claim('iss', 'old', now + 200, now + 120)).toBe(true);
  });

  it('keeps feedback as given, oldest first, per service', async () => {
    const { feedback } = await open();
    await feedback.save('intrathecal-order-sign', [accepted, overridden], new Date('2026-11-20T20:07:00Z'));
    await feedback.save('intrathecal-order-select', [accepted], new Date('2026-11-20T20:08:00Z'));
    expect(await feedback.list('intrathecal-order-sign')).toEqual([
      { serviceId: 'intrathecal-order-sign', ...accepted, receivedAt: '2026-11-20T20:07:00.000Z' },
      { serviceId: 'intrathecal-order-sign', ...overridden, receivedAt: '2026-11-20T20:07:00.000Z' },
    ]);
    expect((await feedback.list()).map((f) => [f.serviceId, f.card])).toEqual([
      ['intrathecal-order-sign', 'card-1'], ['intrathecal-order-sign', 'card-2'], ['intrathecal-order-select', 'card-1'],
    ]);
    expect(await feedback.count()).toBe(3);
  });

  it('reads the feedback on given cards, oldest first, in chunks past the query size, and none for none', async () => {
    const { feedback } = await open();
    const many = Array.from({ length: 5003 }, (_, i) => ({ ...accepted, card: `many-${String(i)}` }));
    await feedback.save('intrathecal-order-sign', [overridden, ...many.slice(0, 5001)], new Date('2026-11-20T20:07:00Z'));
    await feedback.save('intrathecal-order-sign', [accepted, many[5002] as FeedbackItem], new Date('2026-11-20T20:08:00Z'));
    expect(await feedback.forCards([])).toEqual([]);
    expect(await feedback.forCards(['card-2', 'card-1', 'no-such-card'])).toEqual([
      { serviceId: 'intrathecal-order-sign', ...overridden, receivedAt: '2026-11-20T20:07:00.000Z' },
      { serviceId: 'intrathecal-order-sign', ...accepted, receivedAt: '2026-11-20T20:08:00.000Z' },
    ]);
    // Two queries (5,000 cards each at most); the rows still come oldest first across them.
    const wanted = ['many-5002', ...many.slice(0, 5001).map((f) => f.card).reverse()];
    expect((await feedback.forCards(wanted)).map((f) => f.card)).toEqual([...many.slice(0, 5001).map((f) => f.card), 'many-5002']);
  });

  it('keeps a NUL character a sloppy client sent (PostgreSQL text cannot hold one: it is stored as U+FFFD)', async () => {
    const { feedback, replay } = await open();
    const nul = { ...overridden, card: 'card\u0000x', acceptedSuggestions: [{ id: 's\u0000' }], overrideReason: { userComment: 'a\u0000b \\u0000 c' } } as FeedbackItem;
    await feedback.save('intrathecal-order-sign', [nul], new Date('2026-11-20T20:07:00Z'));
    const [kept] = await feedback.list();
    const stored = (s: string): string => (_name === 'PostgreSQL' ? s.replaceAll('\u0000', '\ufffd') : s);
    expect(kept).toMatchObject({ card: stored('card\u0000x'), acceptedSuggestions: [{ id: stored('s\u0000') }], overrideReason: { userComment: stored('a\u0000b \\u0000 c') } });
    expect(await replay.claim('iss', 'jti\u0000', 1_800_000_300, 1_800_000_000)).toBe(true);
    expect(await replay.claim('iss', 'jti\u0000', 1_800_000_300, 1_800_000_001)).toBe(false);
  });

  it('stores all items of one body or none', async () => {
    const { feedback } = await open();
    // An outcome the parser would refuse reaches the table's own check: the item before it must not stay.
    const refused = { ...overridden, outcome: 'ignored' } as unknown as FeedbackItem;
    await expect(feedback.save('intrathecal-order-sign', [accepted, refused], new Date())).rejects.toThrow();
    expect(await feedback.list()).toEqual([]);
  });
});

describe('PostgreSQL, shared by several instances', () => {
  it('lets exactly one of two instances claim a JWT id they are sent at once', async () => {
    const url = await freshPostgresDatabase();
    const [a, b] = [postgresReplayStore(await shared(url)), postgresReplayStore(await shared(url))];
    const now = 1_800_000_000;
    const ids = Array.from({ length: 40 }, (_, i) => `jti-${i}`);
    const results = await Promise.all(ids.flatMap((id) => [a.claim('iss', id, now + 300, now), b.claim('iss', id, now + 300, now)]));
    for (let i = 0; i < ids.length; i++) expect([results[2 * i], results[2 * i + 1]].filter(Boolean)).toHaveLength(1);
  });

  it('creates its tables once when instances start together', async () => {
    const url = await freshPostgresDatabase();
    const all = Array.from({ length: 4 }, () => openSharedDatabase(url, captureLog().log));
    toClose.push(...all.map((db) => () => db.close()));
    await Promise.all(all.map((db) => db.ready));
    const [first, ...others] = all.map(postgresFeedbackStore);
    await first?.save('s', [accepted], new Date());
    for (const other of others) expect((await other.list()).map((f) => f.card)).toEqual(['card-1']);
  });

  it('answers 503 once the database is gone, logging the fault without the values', async () => {
    const url = await freshPostgresDatabase();
    const { lines, log } = captureLog();
    const db = openSharedDatabase(url, log);
    toClose.push(() => db.close());
    const feedback = postgresFeedbackStore(db);
    await feedback.save('s', [accepted], new Date());
    // A real loss: the database is dropped under the open pool, its connections ended by the server.
    await dropPostgresDatabase(url);
    const failure = await feedback.save('s', [{ ...overridden, card: 'card-secret-77' }], new Date()).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(HttpError);
    expect((failure as HttpError).status).toBe(503);
    expect((failure as HttpError).headers['Retry-After']).toBe('5');
    expect((failure as HttpError).outcome.issue[0]).toMatchObject({ code: 'transient' });
    const logged = lines.join('\n');
    expect(logged).toContain('shared database (DATABASE_URL) unavailable');
    expect(logged).not.toContain('card-secret-77');
    expect(logged).not.toContain('peer-to-peer');
  });
});
