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

  it('with --fixtures, reads what the request does not carry from the fixture record, as the running service would', () => {
    const args = (file: string, ...more: string[]): string[] => [`fhir-fixtures/requests/${file}`, '--now', '2026-11-20T15:00:00Z', ...more];
    const prefetched = run('scripts/evaluate.ts', args('seed-a.order-sign.json'), { RULES_DIR: rulesDir });
    // Without a FHIR server to read from, the request without prefetch cannot be answered: 412, exit 1.
    const alone = run('scripts/evaluate.ts', args('seed-a.order-sign.no-prefetch.json'), { RULES_DIR: rulesDir });
    expect([alone.status, alone.stderr.split('\n')[0]]).toEqual([1, 'the service would answer HTTP 412:']);
    const served = run('scripts/evaluate.ts', args('seed-a.order-sign.no-prefetch.json', '--fixtures'), { RULES_DIR: rulesDir });
    expect(served.status, served.stderr).toBe(0);
    expect(withoutUuids(JSON.parse(served.stdout))).toEqual(withoutUuids(JSON.parse(prefetched.stdout)));
    // Orders sent to the pharmacy by reference are read there too.
    const dispatched = run('scripts/evaluate.ts', args('seed-a.order-dispatch.json', '--fixtures'), { RULES_DIR: rulesDir });
    expect(dispatched.status, dispatched.stderr).toBe(0);
    expect((JSON.parse(dispatched.stdout) as { systemActions: unknown[] }).systemActions).toHaveLength(2);
  });

  it('with --brief, prints one line per card and per coverage information with its reasons, instead of the JSON', () => {
    const args = ['fhir-fixtures/requests/seed-a.order-sign.json', '--now', '2026-11-20T15:00:00Z'];
    type Sub = { url: string; valueCode?: string; valueCodeableConcept?: { text: string } };
    const full = JSON.parse(run('scripts/evaluate.ts', args, { RULES_DIR: rulesDir }).stdout) as { cards: { indicator: string; summary: string }[]; systemActions: { resource: { id: string; extension: { extension: Sub[] }[] } }[] };
    const brief = run('scripts/evaluate.ts', [...args, '--brief'], { RULES_DIR: rulesDir });
    expect(brief.status).toBe(0);
    const lines = brief.stdout.trimEnd().split('\n');
    expect(lines.slice(0, full.cards.length + 1)).toEqual([`cards (${String(full.cards.length)})`, ...full.cards.map((c) => `  ${c.indicator}: ${c.summary}`)]);
    const annotations = full.systemActions.flatMap((a) => a.resource.extension).length;
    expect(annotations).toBeGreaterThan(1);
    expect(lines[full.cards.length + 1]).toBe(`coverage information (${String(annotations)})`);
    expect(lines).toContain('  MedicationRequest/it-seed-a-draft-morphine: covered: covered, prior authorization: conditional');
    const reasons = full.systemActions.flatMap((a) => a.resource.extension.flatMap((e) => e.extension.filter((x) => x.url === 'reason').map((x) => `    - ${x.valueCodeableConcept?.text ?? ''}`)));
    expect(reasons.length).toBeGreaterThan(1);
    for (const reason of reasons) expect(lines).toContain(reason);
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

describe('npm run feedback:report', () => {
  const FEEDBACK = '/cds-services/intrathecal-order-sign/feedback';
  const REASON = { system: 'https://intrathecal-cds.example/fhir/CodeSystem/override-reason', code: 'seen-elsewhere', display: 'Already handled in the prior authorization' };
  const COMMENT = 'spoke with Avery Seedcase about it';
  type Cards = { uuid: string; detail: string }[];

  /** Seeds A and B answered by a real service on these stores, feedback on three of their cards and on one unknown. */
  async function answerAndFeedBack(env: Record<string, string>): Promise<{ a: Cards; b: Cards }> {
    const svc = await startService({ EMBEDDED_FHIR: 'false', ...env }, { clock: () => new Date('2026-11-20T15:00:00Z') });
    try {
      const a = (await call(svc, 'POST', '/cds-services/intrathecal-order-sign', fixtureRequest('seed-a.order-sign.json'))).body['cards'] as Cards;
      const b = (await call(svc, 'POST', '/cds-services/intrathecal-order-sign', fixtureRequest('seed-b.order-sign.json'))).body['cards'] as Cards;
      const at = '2026-11-20T15:05:00Z';
      // Overrides only: accepting a card means taking one of its suggestions (cds-fb-2), and no card of the seeds has
      // one; src/audit/feedback-report.test.ts counts acceptances.
      const sent = await call(svc, 'POST', FEEDBACK, { feedback: [
        { card: a[0]?.uuid, outcome: 'overridden', overrideReason: { reason: REASON, userComment: COMMENT }, outcomeTimestamp: at },
        { card: a[1]?.uuid, outcome: 'overridden', overrideReason: { reason: REASON }, outcomeTimestamp: at },
        { card: b[0]?.uuid, outcome: 'overridden', overrideReason: { userComment: 'not relevant' }, outcomeTimestamp: at },
        { card: '0b9e5c1a-7d41-4c8e-9f2a-3e5d6c7b8a91', outcome: 'overridden', overrideReason: { userComment: 'a card of another day' }, outcomeTimestamp: at },
      ] });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      return { a, b };
    } finally {
      await svc.stop();
    }
  }

  /** The table row of a rule, its cells trimmed. */
  const row = (report: string, rule: string): string[] | undefined => report.split('\n').find((l) => l.startsWith(`| ${rule} |`))?.split('|').slice(1, -1).map((c) => c.trim());
  const ruleOf = (card: { detail: string } | undefined): string => /\*Rule (\S+) /.exec(card?.detail ?? '')?.[1] ?? 'none';

  it("counts, per rule, the cards the service showed in the period and what clinicians did with them, never their comments, and records the read", async () => {
    const storePath = join(mkdtempSync(join(tmpdir(), 'itcds-feedback-report-')), 'intrathecal-cds.sqlite');
    const { a, b } = await answerAndFeedBack({ STORE_PATH: storePath });
    const report = run('scripts/feedback-report.ts', ['--since', '2026-11-20', '--until', '2026-11-21'], { STORE_PATH: storePath });
    expect(report.status, report.stderr).toBe(0);
    expect(report.stdout).toContain(`2 calls read from the audit log, ${String(a.length + b.length)} cards shown.`);
    // Three rules got an override each: with a reason and a comment (counted, not shown), a reason only, a comment only.
    const [first, second, third] = [ruleOf(a[0]), ruleOf(a[1]), ruleOf(b[0])];
    expect(first).toBe('it-coverage-established-drug');
    expect(new Set([first, second, third]).size).toBe(3);
    const shown = (rule: string): number => [...a, ...b].filter((c) => ruleOf(c) === rule).length;
    const reason = `${REASON.display} (${REASON.code}): 1`;
    const on = (rule: string): string => `order-sign: ${String(shown(rule))}`;
    // By payer type: seed A's commercial plan, seed B's Medicare Advantage, as their Coverages code them.
    const payers = (rule: string, overridden: 'a' | 'b'): string =>
      ([['5 PRIVATE HEALTH INSURANCE', a, 'a'], ['11 MEDICARE (Managed Care)', b, 'b']] as const)
        .map(([payer, cards, seed]) => [payer, cards.filter((c) => ruleOf(c) === rule).length, seed === overridden ? 1 : 0] as const)
        .filter(([, n]) => n > 0)
        .sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0]))
        .map(([payer, n, o]) => `${payer}: ${String(n)} / ${String(o)}`)
        .join('; ');
    expect(row(report.stdout, first)?.slice(2)).toEqual([String(shown(first)), on(first), '0', '1', String(shown(first) - 1), reason, '1', payers(first, 'a')]);
    expect(row(report.stdout, second)?.slice(2)).toEqual([String(shown(second)), on(second), '0', '1', String(shown(second) - 1), reason, '0', payers(second, 'a')]);
    expect(row(report.stdout, third)?.slice(2)).toEqual([String(shown(third)), on(third), '0', '1', String(shown(third) - 1), '(none given): 1', '1', payers(third, 'b')]);
    // A rule with no feedback: every card it showed is without.
    const quiet = [...new Set([...a, ...b].map(ruleOf))].find((r) => ![first, second, third].includes(r)) ?? 'none';
    expect(row(report.stdout, quiet)?.slice(2, 7)).toEqual([String(shown(quiet)), on(quiet), '0', '0', String(shown(quiet))]);
    expect(report.stdout).toContain('1 feedback items are on cards of calls outside this period');
    expect(report.stdout).not.toContain(COMMENT);
    // Another period: no calls, and all four feedback items are outside it.
    const later = run('scripts/feedback-report.ts', ['--since', '2026-11-21', '--until', '2026-11-22'], { STORE_PATH: storePath });
    expect(later.stdout).toContain('0 calls read from the audit log, 0 cards shown.');
    expect(later.stdout).toContain('4 feedback items');
    const auditDb = openPrivateDatabase(join(dirname(storePath), 'intrathecal-cds-audit.sqlite'), 'NORMAL').db;
    const reads = auditDb.prepare("SELECT reader, query, rows FROM audit_read WHERE reader LIKE 'npm run feedback:report%' ORDER BY id").all();
    auditDb.close();
    expect(reads.map((r) => [r['query'], r['rows']])).toEqual([['feedback:report --since 2026-11-20 --until 2026-11-21', 2], ['feedback:report --since 2026-11-21 --until 2026-11-22', 0]]);
  });

  it('reads the PostgreSQL database of DATABASE_URL when it is set', async () => {
    const url = await freshPostgresDatabase();
    const { a } = await answerAndFeedBack({ DATABASE_URL: url, STORE_PATH: ':memory:' });
    const report = run('scripts/feedback-report.ts', ['--since', '2026-11-20', '--until', '2026-11-21'], { DATABASE_URL: url });
    expect(report.status, report.stderr).toBe(0);
    expect(report.stdout).toContain('2 calls read from the audit log');
    expect(row(report.stdout, ruleOf(a[0]))?.[5]).toBe('1');
  });

  it('refuses unusable dates and missing files (exit 2)', () => {
    for (const args of [['--since', '2026-11-31'], ['--since', '2026-11-20', '--until', '2026-11-20'], ['--from', '2026-11-20'], ['--since']]) {
      const refused = run('scripts/feedback-report.ts', args, { STORE_PATH: '/nonexistent/store.sqlite' });
      expect([refused.status, refused.stderr.split('\n')[0]]).toEqual([2, 'usage: npm run feedback:report -- [--since YYYY-MM-DD] [--until YYYY-MM-DD]']);
    }
    const missing = run('scripts/feedback-report.ts', [], { STORE_PATH: '/nonexistent/store.sqlite' });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('no such file: /nonexistent/store.sqlite, /nonexistent/intrathecal-cds-audit.sqlite');
  });

  it('says in an operator\'s words when a store file is not a SQLite database (exit 1)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'itcds-feedback-report-'));
    writeFileSync(join(dir, 'intrathecal-cds.sqlite'), 'not a database, a text file put here by mistake'.repeat(20));
    writeFileSync(join(dir, 'intrathecal-cds-audit.sqlite'), '');
    const refused = run('scripts/feedback-report.ts', [], { STORE_PATH: join(dir, 'intrathecal-cds.sqlite') });
    expect([refused.status, refused.stderr.trim()]).toEqual([1, 'the stores could not be opened: the file is not a SQLite database']);
  });
});
