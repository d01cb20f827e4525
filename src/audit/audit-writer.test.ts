/**
 * The audit writer with its real worker thread and a real SQLite file: what it is given is written, in order, by
 * the time `idle()` or `close()` settles; when the worker cannot work, records are written on the request thread.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { captureLog } from '../../test/support/harness.js';
import { auditStore } from '../store/audit-store.js';
import type { InvocationRecord } from '../store/audit-store.js';
import { openPrivateDatabase } from '../store/database.js';
import type { Logger } from '../log.js';
import { AuditSpool } from './audit-spool.js';
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
    expect(writer.state()).toEqual({ notWritten: 1, retrying: false });
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
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logged.find((l) => String(l['msg']).startsWith('audit writer stopped'))).toMatchObject({ level: 50 });
    // Without a spool, the records it held are lost, and said to be.
    expect(logged.filter((l) => l['msg'] === 'audit record not written')).toMatchObject([{ level: 50, requestIds: ['taken'] }]);
    expect(writer.state().notWritten).toBe(1);
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

  describe('when the file refuses writes for a while', () => {
    const quick = { busyTimeoutMs: 200, retryDelaysMs: [100, 200, 300] };
    /** Another connection holding the file's write lock, as a VACUUM or another process's long write does. */
    function lockFile(path: string): { release(): void } {
      const locker = new DatabaseSync(path);
      // Waits out a write of the writer's that is under way, rather than failing the test on it.
      locker.exec('PRAGMA busy_timeout = 5000');
      locker.exec('BEGIN IMMEDIATE');
      return {
        release: () => {
          locker.exec('COMMIT');
          locker.close();
        },
      };
    }
    /** A writer with short waits, its file locked. */
    function refusing() {
      const { path, db, store } = fresh();
      const { lines, log } = captureLog();
      const writer = auditWriter(store, path, log, quick);
      return { db, store, lines, writer, lock: lockFile(path) };
    }
    const notWritten = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'audit record not written');

    it('keeps the refused records, and those after them, and writes them in order once it may', async () => {
      const { db, store, lines, writer, lock } = refusing();
      writer.record(entry('held-1'));
      writer.record(entry('held-2'));
      await expect.poll(() => lines.some((l) => l.includes('refused a write')), { timeout: 2000, interval: 20 }).toBe(true);
      // A reader is not held while the file refuses writes.
      await writer.idle();
      expect(writer.state()).toEqual({ notWritten: 0, retrying: true });
      writer.record(entry('later'));
      lock.release();
      await expect.poll(async () => (await store.search({ limit: 10 })).map((r) => r.requestId), { timeout: 3000, interval: 50 }).toEqual(['later', 'held-2', 'held-1']);
      expect(notWritten(lines)).toEqual([]);
      expect(lines.filter((l) => l.includes('refused a write'))).toHaveLength(1);
      await writer.close();
      db.close();
    });

    it('gives up on a batch once the waits have run out, logging its ids, and writes the next', async () => {
      const { db, store, lines, writer, lock } = refusing();
      writer.record(entry('given-up'));
      // Four attempts of 200 ms and waits of 600 ms in all.
      await expect.poll(() => notWritten(lines).length, { timeout: 5000, interval: 50 }).toBe(1);
      lock.release();
      writer.record(entry('next'));
      await writer.idle();
      expect((await store.search({ limit: 10 })).map((r) => r.requestId)).toEqual(['next']);
      expect(notWritten(lines)).toMatchObject([{ level: 50, requestIds: ['given-up'], err: { message: 'database is locked' } }]);
      await writer.close();
      db.close();
    });

    it('does not keep a record past MAX_QUEUED_BYTES meanwhile, nor try it on the request thread', async () => {
      const { db, store, lines, writer, lock } = refusing();
      writer.record(entry('held'));
      await expect.poll(() => lines.some((l) => l.includes('refused a write')), { timeout: 2000, interval: 20 }).toBe(true);
      writer.record({ ...entry('too-much'), response: `{"pad":"${'x'.repeat(MAX_QUEUED_BYTES)}"}` });
      await expect.poll(() => notWritten(lines), { timeout: 2000, interval: 20 }).toMatchObject([{ requestIds: ['too-much'], err: { message: 'the audit queue is full while the file refuses writes' } }]);
      expect(writer.state()).toEqual({ notWritten: 1, retrying: true });
      lock.release();
      await expect.poll(async () => (await store.search({ limit: 10 })).map((r) => r.requestId), { timeout: 3000, interval: 50 }).toEqual(['held']);
      await writer.close();
      db.close();
    });

    describe('with a spool (AUDIT_SPOOL_DIR)', () => {
      const spoolOf = (log: Logger) => new AuditSpool(mkdtempSync(join(tmpdir(), 'itcds-spool-')), 1 << 30, log);
      const kept = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l['msg']).startsWith('audit records kept in the spool'));

      it('keeps a batch given up in the spool, not lost, and writes it once the file takes a batch again', async () => {
        const { path, db, store } = fresh();
        const { lines, log } = captureLog();
        const spool = spoolOf(log);
        const writer = auditWriter(store, path, log, { ...quick, spool });
        const lock = lockFile(path);
        writer.record(entry('given-up'));
        await expect.poll(() => kept(lines).length, { timeout: 5000, interval: 50 }).toBe(1);
        expect(kept(lines)[0]).toMatchObject({ level: 40, requestIds: ['given-up'], err: { message: 'database is locked' } });
        expect(writer.state()).toMatchObject({ notWritten: 0 });
        expect(writer.state().spoolBytes).toBeGreaterThan(0);
        lock.release();
        writer.record(entry('next'));
        await expect.poll(async () => (await store.search({ limit: 10 })).map((r) => r.requestId).sort(), { timeout: 3000, interval: 50 }).toEqual(['given-up', 'next']);
        // Written once, bodies and all, and the spool is empty.
        const back = (await store.search({ limit: 10 })).find((r) => r.requestId === 'given-up');
        expect(back).toMatchObject({ request: { hook: 'order-sign', n: 'given-up' }, response: { cards: [], id: 'given-up' } });
        expect(writer.state()).toEqual({ notWritten: 0, retrying: false, spoolBytes: 0 });
        expect(notWritten(lines)).toEqual([]);
        await writer.close();
        db.close();
      });

      it('keeps a batch that fails for good (no such table) until the table is back', async () => {
        const { path, db, store } = fresh();
        const { lines, log } = captureLog();
        const writer = auditWriter(store, path, log, { ...quick, spool: spoolOf(log) });
        writer.record(entry('before'));
        await writer.idle();
        db.exec('ALTER TABLE hook_invocation RENAME TO hook_invocation_away');
        writer.record(entry('kept'));
        await writer.idle();
        expect(kept(lines)).toMatchObject([{ requestIds: ['kept'], err: { message: 'no such table: hook_invocation' } }]);
        db.exec('ALTER TABLE hook_invocation_away RENAME TO hook_invocation');
        writer.record(entry('after'));
        await expect.poll(async () => (await store.search({ limit: 10 })).map((r) => r.requestId).sort(), { timeout: 3000, interval: 50 }).toEqual(['after', 'before', 'kept']);
        expect(writer.state()).toEqual({ notWritten: 0, retrying: false, spoolBytes: 0 });
        await writer.close();
        db.close();
      });

      it('spools what it holds at close while the file is locked, and the next writer writes it with no call to wait for', async () => {
        const { path, db, store } = fresh();
        const { lines, log } = captureLog();
        const dir = mkdtempSync(join(tmpdir(), 'itcds-spool-'));
        const first = auditWriter(store, path, log, { ...quick, spool: new AuditSpool(dir, 1 << 30, log) });
        const lock = lockFile(path);
        first.record(entry('at-stop'));
        await first.close();
        expect(kept(lines)).toMatchObject([{ requestIds: ['at-stop'] }]);
        lock.release();
        // The next start (a new writer on the same spool), and no traffic: the timer offers the spool to the file.
        const next = auditWriter(store, path, log, { ...quick, spool: new AuditSpool(dir, 1 << 30, log), spoolDrainMs: 50 });
        await expect.poll(async () => (await store.search({ limit: 10 })).map((r) => r.requestId), { timeout: 3000, interval: 50 }).toEqual(['at-stop']);
        expect(next.state()).toEqual({ notWritten: 0, retrying: false, spoolBytes: 0 });
        await next.close();
        db.close();
      });

      it('spools the records a dead worker held, and writes them itself, on the request thread, once the file takes them', async () => {
        const { path, db, store } = fresh();
        // The worker prepares its statement when it starts: without the table it dies at once.
        db.exec('ALTER TABLE hook_invocation RENAME TO hook_invocation_away');
        const { lines, log } = captureLog();
        const dir = mkdtempSync(join(tmpdir(), 'itcds-spool-'));
        const spool = new AuditSpool(dir, 1 << 30, log);
        const writer = auditWriter(store, path, log, { spool, spoolDrainMs: 50 });
        writer.record(entry('taken'));
        await writer.idle();
        expect(kept(lines)).toMatchObject([{ requestIds: ['taken'] }]);
        expect(writer.state().notWritten).toBe(0);
        // The drains meanwhile (at the worker's death, then the timer's) find no table: the record stays in the spool.
        await new Promise((r) => setTimeout(r, 150));
        expect(spool.pending).toBe(true);
        db.exec('ALTER TABLE hook_invocation_away RENAME TO hook_invocation');
        // No restart and no traffic: the timer's drain writes it, here.
        await expect.poll(async () => (await store.search({ limit: 10 })).map((r) => r.requestId), { timeout: 3000, interval: 50 }).toEqual(['taken']);
        await expect.poll(() => writer.state()).toEqual({ notWritten: 0, retrying: false, spoolBytes: 0 });
        writer.record(entry('after'));
        await writer.close();
        expect((await store.search({ limit: 10 })).map((r) => r.requestId)).toEqual(['after', 'taken']);
        // Nothing left for the next start to write twice.
        const next = auditWriter(store, path, log, { spool: new AuditSpool(dir, 1 << 30, log), spoolDrainMs: 50 });
        await new Promise((r) => setTimeout(r, 200));
        await next.close();
        expect((await store.search({ limit: 10 })).map((r) => r.requestId)).toEqual(['after', 'taken']);
        db.close();
      });
    });
  });
});
