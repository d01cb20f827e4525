/**
 * The audit writer with its real worker thread and a real SQLite file: what it is given is written, in order, by
 * the time `idle()` or `close()` settles; when the worker cannot work, records are written on the request thread.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureLog } from '../../test/support/harness.js';
import { auditStore } from '../store/audit-store.js';
import type { InvocationRecord } from '../store/audit-store.js';
import { openPrivateDatabase } from '../store/database.js';
import { MAX_QUEUED_BYTES, auditWriter } from './audit-writer.js';

const entry = (requestId: string): InvocationRecord => ({
  receivedAt: new Date('2026-11-20T10:00:00Z'), requestId, serviceId: 's', patientId: 'p', client: 'c', status: 200, ms: 1,
  packs: 'p@1', delivered: true, request: JSON.stringify({ hook: 'order-sign', n: requestId }), response: `{"cards":[],"id":"${requestId}"}`,
});

function fresh() {
  const path = join(mkdtempSync(join(tmpdir(), 'itcds-writer-')), 'audit.sqlite');
  const { db } = openPrivateDatabase(path, 'NORMAL');
  return { path, db, store: auditStore(db) };
}

describe('audit writer', () => {
  it('writes every record, bodies and all, by the time idle() settles', async () => {
    const { path, db, store } = fresh();
    const { log } = captureLog();
    const writer = auditWriter(store, path, log);
    for (let i = 1; i <= 50; i++) writer.record(entry(`r${i}`));
    await writer.idle();
    const rows = await store.search({ limit: 100 });
    expect(rows.map((r) => r.requestId)).toEqual(Array.from({ length: 50 }, (_, i) => `r${50 - i}`));
    expect(rows[0]).toMatchObject({ request: { hook: 'order-sign', n: 'r50' }, response: { cards: [], id: 'r50' }, patientId: 'p' });
    await writer.close();
    db.close();
  });

  it('keeps a process that awaits idle() open until the record is written', () => {
    // A script with nothing else to do: the worker is unref'd, so without a hold the process ends with the promise
    // pending and the record unwritten.
    const dir = mkdtempSync(join(tmpdir(), 'itcds-writer-'));
    const script = join(dir, 'idle.mts');
    const src = (f: string) => JSON.stringify(resolve('src', f));
    writeFileSync(script, `
      import { auditStore } from ${src('store/audit-store.ts')};
      import { openPrivateDatabase } from ${src('store/database.ts')};
      import { auditWriter } from ${src('audit/audit-writer.ts')};
      import { createLogger } from ${src('log.ts')};
      const path = ${JSON.stringify(join(dir, 'audit.sqlite'))};
      const store = auditStore(openPrivateDatabase(path, 'NORMAL').db);
      const writer = auditWriter(store, path, createLogger('silent', process.stdout));
      writer.record({ receivedAt: new Date(), requestId: 'r', serviceId: 's', client: 'c', status: 200, ms: 1, packs: 'p', delivered: true });
      await writer.idle();
      process.stdout.write(String((await store.search({ limit: 5 })).length));
      await writer.close();`);
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' });
    expect(run.stderr).not.toContain('unsettled');
    expect(run.stdout).toBe('1');
  });

  it('writes what it still holds when closed', async () => {
    const { path, db, store } = fresh();
    const writer = auditWriter(store, path, captureLog().log);
    for (let i = 1; i <= 20; i++) writer.record(entry(`c${i}`));
    await writer.close();
    expect(await store.search({ limit: 100 })).toHaveLength(20);
    db.close();
  });

  it('logs a batch it could not write with its request ids, and goes on with the next', async () => {
    const { path, db, store } = fresh();
    const { lines, log } = captureLog();
    const writer = auditWriter(store, path, log);
    writer.record(entry('before'));
    await writer.idle();
    db.exec('ALTER TABLE hook_invocation RENAME TO hook_invocation_away');
    writer.record(entry('lost'));
    await writer.idle();
    db.exec('ALTER TABLE hook_invocation_away RENAME TO hook_invocation');
    writer.record(entry('after'));
    await writer.idle();
    expect((await store.search({ limit: 10 })).map((r) => r.requestId)).toEqual(['after', 'before']);
    const failed = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'audit record not written');
    expect(failed).toMatchObject([{ level: 50, requestIds: ['lost'], err: { message: 'no such table: hook_invocation' } }]);
    await writer.close();
    db.close();
  });

  it('writes on the request thread once its worker has died, and says which records the worker took with it', async () => {
    const { path, db, store } = fresh();
    // The worker prepares its statement when it starts: without the table it dies at once.
    db.exec('ALTER TABLE hook_invocation RENAME TO hook_invocation_away');
    const { lines, log } = captureLog();
    const writer = auditWriter(store, path, log);
    writer.record(entry('taken'));
    await writer.idle();
    db.exec('ALTER TABLE hook_invocation_away RENAME TO hook_invocation');
    writer.record(entry('inline'));
    await writer.idle();
    expect((await store.search({ limit: 10 })).map((r) => r.requestId)).toEqual(['inline']);
    const stopped = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => String(l['msg']).startsWith('audit writer stopped'));
    expect(stopped).toMatchObject({ level: 50, requestIds: ['taken'] });
    await writer.close();
    db.close();
  });

  it('writes on the request thread what would put the worker more than MAX_QUEUED_BYTES behind, and says so once', async () => {
    const { path, db, store } = fresh();
    const { lines, log } = captureLog();
    const writer = auditWriter(store, path, log);
    const big = (requestId: string): InvocationRecord => ({ ...entry(requestId), response: `{"pad":"${'x'.repeat(MAX_QUEUED_BYTES)}"}` });
    writer.record(big('big-1'));
    writer.record(big('big-2'));
    // Written before record() returned, not queued.
    expect((await store.search({ limit: 10 })).map((r) => r.requestId)).toEqual(['big-2', 'big-1']);
    writer.record(entry('small'));
    await writer.idle();
    expect((await store.search({ limit: 10 })).map((r) => r.requestId)).toEqual(['small', 'big-2', 'big-1']);
    expect(lines.filter((l) => l.includes('audit writer behind'))).toHaveLength(1);
    await writer.close();
    db.close();
  });

  it('writes an in-memory log on the request thread, which a worker could not share', async () => {
    const { db } = openPrivateDatabase(':memory:', 'NORMAL');
    const store = auditStore(db);
    const writer = auditWriter(store, ':memory:', captureLog().log);
    writer.record(entry('m1'));
    expect((await store.search({ limit: 10 })).map((r) => r.requestId)).toEqual(['m1']);
    await writer.close();
    db.close();
  });
});
