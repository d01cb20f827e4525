import { describe, expect, it } from 'vitest';
import { captureLog } from '../../test/support/harness.js';
import { auditStore } from '../store/audit-store.js';
import { openPrivateDatabase } from '../store/database.js';
import { pruneAuditLog } from './retention.js';

const row = (requestId: string, receivedAt: string) => ({
  receivedAt: new Date(receivedAt), requestId, serviceId: 's', client: 'c', status: 200, ms: 1, packs: 'p', delivered: true,
});

describe('audit retention', () => {
  it('deletes at start what is older than the retention period, and keeps the rest', async () => {
    const { db } = openPrivateDatabase(':memory:', 'NORMAL');
    const store = auditStore(db);
    await store.record(row('31-days-old', '2026-10-20T11:59:59Z'));
    await store.record(row('29-days-old', '2026-10-22T12:00:00Z'));
    const { lines, log } = captureLog();
    const pruning = pruneAuditLog(store, 30, () => new Date('2026-11-20T12:00:00Z'), log);
    await pruning.stop();
    expect((await store.search({ limit: 10 })).map((r) => r.requestId)).toEqual(['29-days-old']);
    expect(lines.some((l) => l.includes('"deleted":1') && l.includes('"retentionDays":30'))).toBe(true);
    db.close();
  });

  it('logs a failed prune and does not throw, so the service starts and tries again later', async () => {
    const { db } = openPrivateDatabase(':memory:', 'NORMAL');
    const store = auditStore(db);
    db.close();
    const { lines, log } = captureLog();
    const pruning = pruneAuditLog(store, 30, () => new Date(), log);
    await expect(pruning.stop()).resolves.toBeUndefined();
    expect(lines.some((l) => l.includes('audit prune failed'))).toBe(true);
  });
});
