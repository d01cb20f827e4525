/**
 * Durable feedback storage, in the service's SQLite database or with DATABASE_URL in the shared PostgreSQL
 * database: once `save` settles, the rows survive a crash of the process (see database.ts), all of them or none.
 */
import type { DatabaseSync } from 'node:sqlite';
import type { FeedbackItem } from '../hooks/types.js';
import type { Logger } from '../log.js';
import { inSqliteTransaction, onEventLoop } from './database.js';
import { insertRows, inTransaction, pgJson, pgText } from './postgres.js';
import type { SharedDatabase } from './postgres.js';

/** A stored feedback item. */
export interface StoredFeedback extends FeedbackItem {
  readonly serviceId: string;
  readonly receivedAt: string;
}

/** Where feedback is kept. */
export interface FeedbackStore {
  /** Stores every item of one feedback body, all or none. */
  save(serviceId: string, items: readonly FeedbackItem[], receivedAt: Date): Promise<void>;
  /** Reads stored feedback, oldest first. */
  list(serviceId?: string): Promise<StoredFeedback[]>;
  /** The feedback on these cards (by uuid), oldest first. */
  forCards(cards: readonly string[]): Promise<StoredFeedback[]>;
  /** How many feedback items are stored. */
  count(): Promise<number>;
}

/** Card uuids per query: a page of 200 calls of up to a dozen cards each stays well under SQLite's 32,766 parameters. */
const CARDS_PER_QUERY = 5000;

/** Runs a per-chunk query over the uuids and puts the rows in received order. */
async function inChunks(cards: readonly string[], read: (chunk: readonly string[]) => Promise<(StoredFeedback & { id: number })[]>): Promise<StoredFeedback[]> {
  const rows: (StoredFeedback & { id: number })[] = [];
  for (let i = 0; i < cards.length; i += CARDS_PER_QUERY) rows.push(...(await read(cards.slice(i, i + CARDS_PER_QUERY))));
  return rows.sort((a, b) => a.id - b.id).map(({ id: _id, ...rest }) => rest);
}

interface Row {
  service_id: string;
  card_uuid: string;
  outcome: string;
  accepted_suggestions: string | null;
  override_reason: string | null;
  outcome_timestamp: string;
  received_at: string;
}

/** A row as PostgreSQL returns it (the JSON columns cast to text, so both databases read alike). */
type PgRow = Omit<Row, 'received_at'> & { received_at: Date };

/** The columns of `feedback` besides its id, in the order of a row's values (both databases). */
export const FEEDBACK_COLUMNS = ['service_id', 'card_uuid', 'outcome', 'accepted_suggestions', 'override_reason', 'outcome_timestamp', 'received_at'] as const;

/** How a database takes text and JSON: SQLite as they are, PostgreSQL without NUL characters. */
interface Encoding {
  readonly text: (value: string) => string;
  readonly json: (value: unknown) => string;
}

const AS_IS: Encoding = { text: (value) => value, json: (value) => JSON.stringify(value) };

/** The values of one item's row, in the order of FEEDBACK_COLUMNS. */
function rowValues(serviceId: string, item: FeedbackItem, receivedAt: Date, encode: Encoding): [string, string, string, string | null, string | null, string, string] {
  return [
    encode.text(serviceId),
    encode.text(item.card),
    item.outcome,
    item.acceptedSuggestions ? encode.json(item.acceptedSuggestions) : null,
    item.overrideReason ? encode.json(item.overrideReason) : null,
    item.outcomeTimestamp,
    receivedAt.toISOString(),
  ];
}

function fromRow(r: Row): StoredFeedback {
  return {
    serviceId: r.service_id,
    card: r.card_uuid,
    outcome: r.outcome as FeedbackItem['outcome'],
    ...(r.accepted_suggestions ? { acceptedSuggestions: JSON.parse(r.accepted_suggestions) as { id: string }[] } : {}),
    ...(r.override_reason ? { overrideReason: JSON.parse(r.override_reason) as FeedbackItem['overrideReason'] } : {}),
    outcomeTimestamp: r.outcome_timestamp,
    receivedAt: r.received_at,
  };
}

/**
 * The feedback store in a database (its table is created when missing).
 * @param db - the open database.
 * @param log - where a lock that outlasts the store's short wait is reported.
 * @returns the store.
 */
export function feedbackStore(db: DatabaseSync, log?: Pick<Logger, 'warn'>): FeedbackStore {
  db.exec(`CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id TEXT NOT NULL,
    card_uuid TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'overridden')),
    accepted_suggestions TEXT,
    override_reason TEXT,
    outcome_timestamp TEXT NOT NULL,
    received_at TEXT NOT NULL
  )`);
  db.exec('CREATE INDEX IF NOT EXISTS feedback_card ON feedback (card_uuid)');
  const insert = db.prepare(`INSERT INTO feedback (${FEEDBACK_COLUMNS.join(', ')}) VALUES (${FEEDBACK_COLUMNS.map(() => '?').join(', ')})`);
  const selectAll = db.prepare('SELECT * FROM feedback ORDER BY id');
  const selectService = db.prepare('SELECT * FROM feedback WHERE service_id = ? ORDER BY id');
  const countAll = db.prepare('SELECT count(*) AS n FROM feedback');
  const attempt = onEventLoop(db, 'STORE_PATH', log);
  return {
    save(serviceId, items, receivedAt) {
      return attempt(() => inSqliteTransaction(db, () => {
        for (const item of items) insert.run(...rowValues(serviceId, item, receivedAt, AS_IS));
      }));
    },
    list(serviceId) {
      return attempt(() => ((serviceId === undefined ? selectAll.all() : selectService.all(serviceId)) as unknown as Row[]).map(fromRow));
    },
    forCards(cards) {
      return inChunks(cards, (chunk) =>
        attempt(() => (db.prepare(`SELECT * FROM feedback WHERE card_uuid IN (${chunk.map(() => '?').join(', ')})`).all(...chunk) as unknown as (Row & { id: number })[]).map((r) => ({ ...fromRow(r), id: r.id })))
      );
    },
    count() {
      return attempt(() => Number((countAll.get() as { n: number }).n));
    },
  };
}

/**
 * The feedback store in the shared PostgreSQL database (its table is created when it opens).
 * @param shared - the open shared database.
 * @returns the store.
 */
export function postgresFeedbackStore(shared: SharedDatabase): FeedbackStore {
  return {
    save: (serviceId, items, receivedAt) =>
      shared.run('feedback save', (pool) =>
        inTransaction(pool, (client) => insertRows(client, 'feedback', FEEDBACK_COLUMNS, items.map((item) => rowValues(serviceId, item, receivedAt, { text: pgText, json: pgJson }))))
      ),
    list: (serviceId) =>
      shared.run('feedback list', async (pool) => {
        const select = 'SELECT service_id, card_uuid, outcome, accepted_suggestions::text, override_reason::text, outcome_timestamp, received_at FROM feedback';
        const result = serviceId === undefined ? await pool.query<PgRow>(`${select} ORDER BY id`) : await pool.query<PgRow>(`${select} WHERE service_id = $1 ORDER BY id`, [serviceId]);
        return result.rows.map((r) => fromRow({ ...r, received_at: r.received_at.toISOString() }));
      }),
    forCards: (cards) =>
      inChunks(cards, (chunk) =>
        shared.run('feedback for cards', async (pool) => {
          const select = 'SELECT id, service_id, card_uuid, outcome, accepted_suggestions::text, override_reason::text, outcome_timestamp, received_at FROM feedback WHERE card_uuid = ANY($1)';
          const result = await pool.query<PgRow & { id: string }>(select, [chunk.map(pgText)]);
          return result.rows.map((r) => ({ ...fromRow({ ...r, received_at: r.received_at.toISOString() }), id: Number(r.id) }));
        })
      ),
    count: () =>
      shared.run('feedback count', async (pool) => {
        // count(*) is a bigint, which the driver gives as text.
        const result = await pool.query<{ n: string }>('SELECT count(*) AS n FROM feedback');
        return Number(result.rows[0]?.n ?? 0);
      }),
  };
}
