/**
 * The audit spool on a real disk: records kept fsynced in an owner-only file, given back as they were (bodies
 * received as bytes too), drained oldest first and removed once written; a chunk the database refuses leaves the
 * rest, and nothing written is written twice; an ended process's file is drained, a running one's is not; past its
 * bound it keeps nothing more. The database here is a function that records what it is given, and one that throws
 * to stand for an outage (the writer's tests use the real PostgreSQL).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureLog } from '../../test/support/harness.js';
import type { InvocationRecord } from '../store/audit-store.js';
import { AuditSpool, fromLine, spoolHostName } from './audit-spool.js';

const record = (requestId: string, over: Partial<InvocationRecord> = {}): InvocationRecord => ({
  receivedAt: new Date('2026-11-20T10:00:00.123Z'), requestId, serviceId: 's', patientId: 'p', client: 'c', status: 200, ms: 1.5,
  packs: 'p@1', delivered: true, request: '{"hook":"order-sign"}', response: '{"cards":[]}', ...over,
});

function spoolIn(maxBytes = 1024 * 1024, host = 'host-a') {
  const dir = join(mkdtempSync(join(tmpdir(), 'itcds-spool-')), 'audit-spool');
  const { log, lines } = captureLog();
  return { dir, lines, spool: new AuditSpool(dir, maxBytes, log, host) };
}

/** Writes a spool file as another process left it, with one record named after the file. */
function leave(dir: string, name: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), `${JSON.stringify({ ...record(name), receivedAt: '2026-11-20T09:00:00.000Z' })}\n`, { mode: 0o600 });
}

/** A database that takes everything, keeping what it was given in order. */
function database() {
  const taken: InvocationRecord[] = [];
  return { taken, write: (records: InvocationRecord[]) => Promise.resolve(void taken.push(...records)) };
}

describe('the audit spool', () => {
  it('keeps records in an owner-only file and gives them back as they were, then removes the file', async () => {
    const { dir, spool } = spoolIn();
    const bytes = new Uint8Array([0x7b, 0x22, 0xc3, 0xa9, 0x22, 0x7d]);
    expect(spool.append([record('r1'), record('r2', { request: bytes, fetched: '{"reads":[]}', status: null })])).toBe(true);
    const [file] = readdirSync(dir);
    expect(file).toBe(`audit-spool-host-a_${String(process.pid)}.jsonl`);
    expect(statSync(join(dir, file ?? '')).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const db = database();
    expect(await spool.drain(db.write)).toBe(2);
    expect(db.taken).toEqual([record('r1'), record('r2', { request: bytes, fetched: '{"reads":[]}', status: null })]);
    expect(readdirSync(dir)).toEqual([]);
    expect(spool.pending).toBe(false);
  });

  it('leaves what the database refused for the next drain, without what it took', async () => {
    const { dir, spool } = spoolIn();
    spool.append(Array.from({ length: 450 }, (_, i) => record(`r${String(i)}`)));
    // The database takes the first chunk (200), then goes away.
    const taken: string[] = [];
    let calls = 0;
    const flaky = (records: InvocationRecord[]): Promise<void> => {
      calls += 1;
      if (calls > 1) return Promise.reject(new Error('connection refused'));
      taken.push(...records.map((r) => r.requestId));
      return Promise.resolve();
    };
    expect(await spool.drain(flaky)).toBe(200);
    expect(spool.pending).toBe(true);
    // Appended meanwhile: kept apart from the claimed file, drained after it.
    spool.append([record('later')]);
    const db = database();
    expect(await spool.drain(db.write)).toBe(251);
    expect([...taken, ...db.taken.map((r) => r.requestId)]).toEqual([...Array.from({ length: 450 }, (_, i) => `r${String(i)}`), 'later']);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('pauses after a chunk when asked, and goes on from the same line: nothing twice, nothing lost', async () => {
    const { dir, spool } = spoolIn();
    const all = Array.from({ length: 450 }, (_, i) => `r${String(i)}`);
    spool.append(all.map((id) => record(id)));
    const db = database();
    const whole = spool.bytes();
    // New records waited after the first chunk: the drain stops there.
    expect(await spool.drain(db.write, () => db.taken.length === 200)).toBe(200);
    expect(spool.pending).toBe(true);
    expect(readdirSync(dir)).toEqual([`audit-spool-claimed-host-a_${String(process.pid)}-0.jsonl`]);
    // What still waits: the file's last 250 lines, not the 200 written.
    const waiting = all.slice(200).reduce((sum, id) => sum + Buffer.byteLength(JSON.stringify({ ...record(id), receivedAt: record(id).receivedAt.toISOString() })) + 1, 0);
    expect(spool.bytes()).toBeLessThan(whole);
    expect(spool.bytes()).toBe(waiting);
    expect(await spool.drain(db.write)).toBe(250);
    expect(db.taken.map((r) => r.requestId)).toEqual(all);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("keeps a paused drain's place on disk when closed, so that the next start does not write those records again", async () => {
    const { dir, spool } = spoolIn();
    const all = Array.from({ length: 450 }, (_, i) => `r${String(i)}`);
    spool.append(all.map((id) => record(id)));
    const before = database();
    expect(await spool.drain(before.write, () => true)).toBe(200);
    spool.close();
    const { log } = captureLog();
    const next = database();
    expect(await new AuditSpool(dir, 1024 * 1024, log, 'host-a').drain(next.write)).toBe(250);
    expect([...before.taken, ...next.taken].map((r) => r.requestId)).toEqual(all);
  });

  it("removes the copy a rewrite left unfinished by a process that ended, not one a running process may be writing", async () => {
    const { dir, spool } = spoolIn();
    const ended = spawnSync(process.execPath, ['-e', '']).pid;
    mkdirSync(dir, { recursive: true });
    const left = `audit-spool-claimed-host-a_${String(ended)}-3.jsonl.rest`;
    const writing = `audit-spool-claimed-host-a_${String(process.ppid)}-0.jsonl.rest`;
    for (const name of [left, writing]) writeFileSync(join(dir, name), `${JSON.stringify({ ...record(name), receivedAt: '2026-11-20T09:00:00.000Z' })}\n`, { mode: 0o600 });
    const db = database();
    expect(await spool.drain(db.write)).toBe(0);
    // A copy's lines are never written: the claimed file it was made from holds them all.
    expect(db.taken).toEqual([]);
    expect(readdirSync(dir)).toEqual([writing]);
  });

  it('drains the files it claimed in the order it claimed them, the eleventh after the tenth', async () => {
    const { spool } = spoolIn();
    const refused = (): Promise<void> => Promise.reject(new Error('connection refused'));
    // Eleven outages, each leaving its records in a file of their own.
    for (let i = 0; i < 11; i++) {
      spool.append([record(`r${String(i)}`)]);
      expect(await spool.drain(refused)).toBe(0);
    }
    const db = database();
    expect(await spool.drain(db.write)).toBe(11);
    expect(db.taken.map((r) => r.requestId)).toEqual(Array.from({ length: 11 }, (_, i) => `r${String(i)}`));
  });

  it("drains an ended process's file, and leaves a running one's", async () => {
    const { dir, spool } = spoolIn();
    spool.append([record('mine')]);
    const ended = spawnSync(process.execPath, ['-e', '']).pid;
    const other = join(dir, `audit-spool-host-a_${String(ended)}.jsonl`);
    writeFileSync(other, `${JSON.stringify({ ...record('theirs'), receivedAt: '2026-11-20T09:00:00.000Z' })}\n`, { mode: 0o600 });
    // The test runner's parent is running: its file stays.
    const running = join(dir, `audit-spool-host-a_${String(process.ppid)}.jsonl`);
    writeFileSync(running, `${JSON.stringify({ ...record('running'), receivedAt: '2026-11-20T09:00:00.000Z' })}\n`, { mode: 0o600 });
    const db = database();
    expect(await spool.drain(db.write)).toBe(2);
    expect(db.taken.map((r) => r.requestId).sort()).toEqual(['mine', 'theirs']);
    expect(readdirSync(dir)).toEqual([`audit-spool-host-a_${String(process.ppid)}.jsonl`]);
  });

  it("drains this host's files only: another host's process 1 is not this one, its files stay and the log names the host once", async () => {
    // Two containers sharing the folder: both are process 1 in their own namespace. Here both spools are this
    // process; before host names, they wrote one file and each drained the other's records.
    const { dir, spool, lines } = spoolIn(1024 * 1024, 'pod-a');
    const { log } = captureLog();
    const other = new AuditSpool(dir, 1024 * 1024, log, 'pod-b');
    spool.append([record('a1')]);
    other.append([record('b1')]);
    leave(dir, `audit-spool-claimed-pod-b_${String(process.pid)}-0.jsonl`);
    const db = database();
    expect(await spool.drain(db.write)).toBe(1);
    expect(await spool.drain(db.write)).toBe(0);
    expect(db.taken.map((r) => r.requestId)).toEqual(['a1']);
    expect(readdirSync(dir).sort()).toEqual([`audit-spool-claimed-pod-b_${String(process.pid)}-0.jsonl`, `audit-spool-pod-b_${String(process.pid)}.jsonl`]);
    expect(lines.filter((l) => l.includes('records of other hosts wait')).map((l) => (JSON.parse(l) as { hosts: string[] }).hosts)).toEqual([['pod-b']]);
    // The other host, or a process started with its name (AUDIT_SPOOL_HOST), drains them.
    expect(await other.drain(db.write)).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("drains the files named before host names were in them as this host's, and names host names as files hold them", async () => {
    const { dir, spool } = spoolIn(1024 * 1024, 'Ward 4_Node');
    const ended = spawnSync(process.execPath, ['-e', '']).pid;
    leave(dir, `audit-spool-${String(ended)}.jsonl`);
    leave(dir, `audit-spool-claimed-${String(ended)}-2.jsonl`);
    spool.append([record('mine')]);
    expect(readdirSync(dir)).toContain(`audit-spool-ward-4-node_${String(process.pid)}.jsonl`);
    expect(spoolHostName('')).toBe('localhost');
    const db = database();
    expect(await spool.drain(db.write)).toBe(3);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("claims its own new records beside what an earlier run with the same process id left claimed, not over it", async () => {
    // A container's process is 1 again after a restart, on the same host name: the earlier run's claimed file holds
    // records it did not get to write.
    const { dir, spool } = spoolIn();
    const left = `audit-spool-claimed-host-a_${String(process.pid)}-0.jsonl`;
    leave(dir, left);
    spool.append([record('new')]);
    const db = database();
    expect(await spool.drain(db.write)).toBe(2);
    expect(db.taken.map((r) => r.requestId)).toEqual([left, 'new']);
  });

  it('keeps nothing more past its bound, and says so', () => {
    const { spool, lines } = spoolIn(600);
    expect(spool.append([record('r1')])).toBe(true);
    expect(spool.append([record('r2'), record('r3')])).toBe(false);
    expect(lines.some((l) => l.includes('audit spool full'))).toBe(true);
  });

  it('reads a line back with its time and bytes', () => {
    const line = JSON.stringify({ ...record('x'), receivedAt: '2026-11-20T10:00:00.123Z', request: undefined, requestBase64: Buffer.from('{}').toString('base64') });
    const back = fromLine(line);
    expect(back.receivedAt).toEqual(new Date('2026-11-20T10:00:00.123Z'));
    expect(back.request).toEqual(new Uint8Array(Buffer.from('{}')));
  });
});
