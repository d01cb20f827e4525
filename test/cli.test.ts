import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadReaders, readerFor } from '../src/audit/readers.js';
import { auditStore } from '../src/store/audit-store.js';
import { openDatabase, openPrivateDatabase } from '../src/store/database.js';
import { feedbackStore } from '../src/store/feedback-store.js';
import { call, fixtureRequest, startService } from './support/harness.js';
import type { RunningService } from './support/harness.js';
import { freshPostgresDatabase } from './support/postgres.js';

/** A rules folder holding the real service definitions and the engine's demo pack, so cards are produced. */
function rulesWithDemo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'itcds-rules-'));
  cpSync('cds-hooks', dir, { recursive: true });
  cpSync('test/packs/demo', join(dir, 'packs', 'demo'), { recursive: true });
  return dir;
}

function run(script: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent', ...env } });
}

/** Card uuids and coverage-assertion ids are fresh per call; everything else must match. */
const withoutUuids = (body: unknown): unknown => JSON.parse(JSON.stringify(body).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '-'));

describe('npm run evaluate', () => {
  const rulesDir = rulesWithDemo();
  let svc: RunningService;
  beforeAll(async () => {
    svc = await startService({ RULES_DIR: rulesDir, EMBEDDED_FHIR: 'false', PUBLIC_BASE_URL: 'http://localhost:3000' }, { clock: () => new Date('2026-11-20T15:00:00Z') });
  });
  afterAll(() => svc.stop());

  it('prints the response the HTTP endpoint gives for the same request', async () => {
    const result = run('scripts/evaluate.ts', ['fhir-fixtures/requests/seed-a.order-sign.json', '--now', '2026-11-20T15:00:00Z'], { RULES_DIR: rulesDir });
    expect(result.status).toBe(0);
    const printed = JSON.parse(result.stdout) as { cards: unknown[] };
    expect(printed.cards.length).toBeGreaterThan(0);
    const res = await call(svc, 'POST', '/cds-services/intrathecal-order-sign', fixtureRequest('seed-a.order-sign.json'));
    expect(withoutUuids(printed)).toEqual(withoutUuids(res.body));
  });

  it('says what is wrong with a request the service would refuse, and exits 1', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'itcds-req-')), 'bad.json');
    writeFileSync(file, JSON.stringify({ hook: 'order-sign', hookInstance: 'x', context: { userId: 'Practitioner/1' } }));
    const result = run('scripts/evaluate.ts', [file]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('HTTP 400');
    expect(result.stderr).toContain('context.patientId: context.patientId is required');
  });

  it('exits 2 with a message for a file that is not JSON, or no file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'itcds-req-')), 'bad.json');
    writeFileSync(file, '{ not json');
    const result = run('scripts/evaluate.ts', [file]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('not a readable JSON file');
    expect(run('scripts/evaluate.ts', []).status).toBe(2);
  });
});

describe('npm run rules:check', () => {
  // Every rule case of the packs runs in the child process, and their number grows with the content: the time it
  // takes is not what is tested here (a busy machine took 22 s), so it has a wide bound.
  it('passes on the packs as committed', { timeout: 180_000 }, () => {
    const result = run('scripts/rules-check.ts', ['cds-hooks/packs', 'test/packs']);
    expect(result.stdout).toContain('rule packs OK');
    expect(result.status).toBe(0);
  });

  it('fails naming the rule when a case expects what the rule does not do', () => {
    const root = mkdtempSync(join(tmpdir(), 'itcds-packs-'));
    cpSync('test/packs/demo', join(root, 'demo'), { recursive: true });
    writeFileSync(
      join(root, 'demo', 'rules', 'demo-no-pain-score.tests.yaml'),
      'cases:\n  - { name: wrong, now: "2026-11-20T15:00:00Z", input: { patient: seed-a, hook: patient-view }, expect: { fires: true } }\n'
    );
    const result = run('scripts/rules-check.ts', [root]);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('demo-no-pain-score.tests.yaml: case "wrong": expected the rule to fire, but it did not');
    expect(result.stdout).toContain('rule demo-no-pain-score has no case where it does not fire');
  });

  it('fails with the loader message when a pack does not compile', () => {
    const root = mkdtempSync(join(tmpdir(), 'itcds-packs-'));
    cpSync('test/packs/demo', join(root, 'demo'), { recursive: true });
    writeFileSync(join(root, 'demo', 'rules', 'broken.yaml'), 'id: broken\nversion: 1.0.0\ntitle: b\nhooks: [order-sign]\nscope: patient\nwhen: "%nothing"\ncard: { indicator: info, topic: guideline, summary: s, sources: [demo-policy] }\n');
    const result = run('scripts/rules-check.ts', [root]);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/broken.yaml: rule broken \(when\): unknown variable %nothing/);
  });
});

describe('npm run audit:reader', () => {
  it('adds a reader with a fresh token, keeps only its hash in an owner-only file, and rotates it on a second run', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'itcds-readers-')), 'readers.json');
    const first = run('scripts/audit-reader.ts', ['pa-lead', file]);
    expect(first.status, first.stderr).toBe(0);
    const token = first.stdout.trim();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toContain(token);
    expect(readerFor(loadReaders(file), token)?.name).toBe('pa-lead');
    const again = run('scripts/audit-reader.ts', ['pa-lead', file]);
    expect(again.status).toBe(0);
    expect(again.stderr).toContain('New token for reader pa-lead');
    const readers = loadReaders(file);
    expect(readers.map((r) => r.name)).toEqual(['pa-lead']);
    expect(readerFor(readers, token)).toBeUndefined();
    expect(readerFor(readers, again.stdout.trim())?.name).toBe('pa-lead');
  });

  it('refuses a bad name or a malformed file with exit 2, and writes nothing', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'itcds-readers-')), 'readers.json');
    const bad = run('scripts/audit-reader.ts', ['two words', file]);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('name must be');
    writeFileSync(file, '{"not": "a list"}');
    expect(run('scripts/audit-reader.ts', ['pa-lead', file]).status).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('{"not": "a list"}');
    expect(run('scripts/audit-reader.ts', ['pa-lead']).status).toBe(2);
  });
});

describe('npm run store:copy', () => {
  it("copies the files STORE_PATH and AUDIT_STORE_PATH name into DATABASE_URL's database, and nothing twice", async () => {
    const storePath = join(mkdtempSync(join(tmpdir(), 'itcds-copy-cli-')), 'intrathecal-cds.sqlite');
    const db = openDatabase(storePath);
    await feedbackStore(db).save('intrathecal-order-sign', [{ card: 'card-1', outcome: 'accepted', outcomeTimestamp: '2026-11-20T10:05:00Z' }], new Date('2026-11-20T10:05:01Z'));
    db.close();
    // The audit file beside it, where the service puts it by default.
    const { db: auditDb } = openPrivateDatabase(join(dirname(storePath), 'intrathecal-cds-audit.sqlite'), 'NORMAL');
    await auditStore(auditDb).record({ receivedAt: new Date('2026-11-20T10:00:00Z'), requestId: 'r1', serviceId: 's', client: 'c', status: 200, ms: 1, packs: 'p@1', delivered: true, request: '{"hook":"order-sign"}', response: '{"cards":[]}' });
    auditDb.close();
    const env = { STORE_PATH: storePath, DATABASE_URL: await freshPostgresDatabase() };
    const first = run('scripts/store-copy.ts', [], env);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toBe('feedback: 1 copied, 0 already in PostgreSQL\nhook invocations: 1 copied, 0 already in PostgreSQL\naudit log reads: 0 copied, 0 already in PostgreSQL\n');
    const again = run('scripts/store-copy.ts', ['--audit', join(dirname(storePath), 'intrathecal-cds-audit.sqlite')], env);
    expect(again.status, again.stderr).toBe(0);
    // Only the audit file this time; the copy's own read was recorded in PostgreSQL, not in the file.
    expect(again.stdout).toBe('feedback: 0 copied, 0 already in PostgreSQL\nhook invocations: 0 copied, 1 already in PostgreSQL\naudit log reads: 0 copied, 0 already in PostgreSQL\n');
  });

  it('leaves the files as they are: a service that was killed leaves its last writes in the WAL file, and the copy reads them without folding them in', async () => {
    const storePath = join(mkdtempSync(join(tmpdir(), 'itcds-copy-wal-')), 'intrathecal-cds.sqlite');
    // The service writes feedback, then dies without closing its connection, as a killed process does.
    const killed = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', [
        "import { openDatabase } from './src/store/database.ts';",
        "import { feedbackStore } from './src/store/feedback-store.ts';",
        `const db = openDatabase(${JSON.stringify(storePath)});`,
        "await feedbackStore(db).save('intrathecal-order-sign', [{ card: 'card-9', outcome: 'accepted', outcomeTimestamp: '2026-11-20T10:05:00Z' }], new Date('2026-11-20T10:05:01Z'));",
        "process.kill(process.pid, 'SIGKILL');",
      ].join('\n')],
      { encoding: 'utf8' },
    );
    expect(killed.signal).toBe('SIGKILL');
    const digest = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
    const before = { file: digest(storePath), wal: digest(`${storePath}-wal`) };
    const copied = run('scripts/store-copy.ts', ['--store', storePath], { DATABASE_URL: await freshPostgresDatabase() });
    expect(copied.status, copied.stderr).toBe(0);
    expect(copied.stdout).toContain('feedback: 1 copied');
    // Opened read-write, the copy's connection, the last one on the file, would checkpoint the WAL into the file on close and delete it.
    expect({ file: digest(storePath), wal: digest(`${storePath}-wal`) }).toEqual(before);
  });

  it('refuses without DATABASE_URL, with unknown arguments, a missing file or one that is not SQLite (exit 2), and says when the database cannot be used (exit 1)', async () => {
    const url = await freshPostgresDatabase();
    const usage = run('scripts/store-copy.ts', [], { DATABASE_URL: '' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('usage: DATABASE_URL=');
    expect(run('scripts/store-copy.ts', ['--files', 'x'], { DATABASE_URL: url }).status).toBe(2);
    const missing = run('scripts/store-copy.ts', ['--audit', '/nonexistent/audit.sqlite'], { DATABASE_URL: url });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('no such file: /nonexistent/audit.sqlite');
    // A file that is not SQLite, and a folder: named, refused before the database is touched (it is not reachable here).
    const folder = mkdtempSync(join(tmpdir(), 'itcds-copy-cli-'));
    const notSqlite = join(folder, 'notes.txt');
    writeFileSync(notSqlite, 'not a database');
    const wrongFile = run('scripts/store-copy.ts', ['--store', notSqlite], { DATABASE_URL: 'postgres://itcds@127.0.0.1:1/none' });
    expect([wrongFile.status, wrongFile.stderr.trim()]).toEqual([2, `${notSqlite} cannot be read: the file is not a SQLite database`]);
    const aFolder = run('scripts/store-copy.ts', ['--audit', folder], { DATABASE_URL: 'postgres://itcds@127.0.0.1:1/none' });
    expect([aFolder.status, aFolder.stderr.trim()]).toEqual([2, `${folder} cannot be read: it is a folder, not a SQLite file`]);
    const file = join(mkdtempSync(join(tmpdir(), 'itcds-copy-cli-')), 'audit.sqlite');
    openPrivateDatabase(file, 'NORMAL').db.close();
    // Port 1 on loopback: nothing listens, the connection is refused.
    const down = run('scripts/store-copy.ts', ['--audit', file], { DATABASE_URL: 'postgres://itcds@127.0.0.1:1/none' });
    expect(down.status).toBe(1);
    expect(down.stderr).toContain('the copy stopped');
  });
});
