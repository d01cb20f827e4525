/**
 * Durable feedback storage in the service's SQLite database: once `save` returns, the rows survive a crash of the
 * process (see database.ts).
 */
import type { DatabaseSync } from 'node:sqlite';
import type { FeedbackItem } from '../hooks/types.js';

/** A stored feedback item. */
export interface StoredFeedback extends FeedbackItem {
  readonly serviceId: string;
  readonly receivedAt: string;
}

/** Where feedback is kept. */
export interface FeedbackStore {
  /** Stores every item of one feedback body, all or none. */
  save(serviceId: string, items: readonly FeedbackItem[], receivedAt: Date): void;
  /** Reads stored feedback, oldest first. */
  list(serviceId?: string): StoredFeedback[];
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

/**
 * The feedback store in a database (its table is created when missing).
 * @param db - the open database.
 * @returns the store.
 */
export function feedbackStore(db: DatabaseSync): FeedbackStore {
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
  const insert = db.prepare(
    `INSERT INTO feedback (service_id, card_uuid, outcome, accepted_suggestions, override_reason, outcome_timestamp, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`
  );
  const selectAll = db.prepare('SELECT * FROM feedback ORDER BY id');
  const selectService = db.prepare('SELECT * FROM feedback WHERE service_id = ? ORDER BY id');
  return {
    save(serviceId, items, receivedAt) {
      db.exec('BEGIN IMMEDIATE');
      try {
        for (const item of items) {
          insert.run(
            serviceId,
            item.card,
            item.outcome,
            item.acceptedSuggestions ? JSON.stringify(item.acceptedSuggestions) : null,
            item.overrideReason ? JSON.stringify(item.overrideReason) : null,
            item.outcomeTimestamp,
            receivedAt.toISOString()
          );
        }
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
    },
    list(serviceId) {
      const rows = (serviceId === undefined ? selectAll.all() : selectService.all(serviceId)) as unknown as Row[];
      return rows.map((r) => ({
        serviceId: r.service_id,
        card: r.card_uuid,
        outcome: r.outcome as FeedbackItem['outcome'],
        ...(r.accepted_suggestions ? { acceptedSuggestions: JSON.parse(r.accepted_suggestions) as { id: string }[] } : {}),
        ...(r.override_reason ? { overrideReason: JSON.parse(r.override_reason) as FeedbackItem['overrideReason'] } : {}),
        outcomeTimestamp: r.outcome_timestamp,
        receivedAt: r.received_at,
      }));
    },
  };
}
