/**
 * Opening the stores the configuration names, with DATABASE_URL on the run's real PostgreSQL: the SQLite files the
 * service then leaves unread are named in a warning, so an operator who moved to PostgreSQL knows to copy them; a
 * DATABASE_URL that reaches another machine without TLS is warned of.
 */
import { closeSync, mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureLog } from '../../test/support/harness.js';
import { freshPostgresDatabase } from '../../test/support/postgres.js';
import { loadConfig } from '../config.js';
import { openStores } from './open-stores.js';

async function opened(files: { store: boolean; audit: boolean }): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'itcds-open-'));
  const storePath = join(dir, 'intrathecal-cds.sqlite');
  const auditPath = join(dir, 'intrathecal-cds-audit.sqlite');
  if (files.store) closeSync(openSync(storePath, 'w'));
  if (files.audit) closeSync(openSync(auditPath, 'w'));
  const captured = captureLog();
  const stores = openStores(loadConfig({ NODE_ENV: 'test', DATABASE_URL: await freshPostgresDatabase(), STORE_PATH: storePath }), captured.log);
  await stores.ready;
  await stores.close();
  return captured.lines.filter((l) => l.includes('npm run store:copy')).map((l) => JSON.stringify((JSON.parse(l) as { files: string[] }).files.map((f) => f.slice(dir.length + 1))));
}

describe('opening the stores with DATABASE_URL', () => {
  it("names the SQLite files that exist and are no longer read, and says nothing when there are none", async () => {
    expect(await opened({ store: true, audit: true })).toEqual(['["intrathecal-cds.sqlite","intrathecal-cds-audit.sqlite"]']);
    expect(await opened({ store: false, audit: true })).toEqual(['["intrathecal-cds-audit.sqlite"]']);
    expect(await opened({ store: false, audit: false })).toEqual([]);
  });

  it.each([
    ['postgres://cds:s3cret@db.example/cds', true],
    ['postgres://cds:s3cret@db.example/cds?sslmode=disable', true],
    ['postgres://cds:s3cret@db.example/cds?sslmode=verify-full', false],
    ['postgres://cds:s3cret@db.example/cds?ssl=true', false],
    ['postgres://cds:s3cret@127.0.0.1:5432/cds', false],
    ['postgres://cds:s3cret@127.db.example/cds', true],
    ['postgres://cds:s3cret@[::1]:5432/cds', false],
    ['postgres://cds:s3cret@localhost/cds', false],
    ['postgres:///cds?host=/var/run/postgresql', false],
    ['postgres://cds:s3cret@db.example/cds?host=/var/run/postgresql', false],
    ['postgres://cds:s3cret@127.0.0.1/cds?host=db.example', true],
  ])('warns of %s reaching another machine without TLS: %s', async (url, warned) => {
    const captured = captureLog();
    const stores = openStores(loadConfig({ NODE_ENV: 'test', DATABASE_URL: url, STORE_PATH: ':memory:' }), captured.log);
    // Not waited for: the address is not meant to be reached.
    await stores.close();
    const warnings = captured.lines.filter((l) => l.includes('without TLS'));
    expect(warnings).toHaveLength(warned ? 1 : 0);
    expect(captured.lines.join('')).not.toContain('s3cret');
  });

  it('reaches PostgreSQL through a Unix socket written as the README says', async () => {
    const tcp = new URL(await freshPostgresDatabase());
    const socketDir = process.env['ITCDS_TEST_POSTGRES_SOCKET_DIR'] ?? 'no socket directory';
    const url = `postgres://${tcp.pathname}?host=${socketDir}&port=${tcp.port}&user=${tcp.username}`;
    const captured = captureLog();
    const stores = openStores(loadConfig({ NODE_ENV: 'test', DATABASE_URL: url, STORE_PATH: ':memory:' }), captured.log);
    try {
      await stores.ready;
      await stores.feedback.save('s', [{ card: 'via-socket', outcome: 'accepted', outcomeTimestamp: '2026-11-20T15:05:00Z' }], new Date());
      expect((await stores.feedback.list()).map((f) => f.card)).toEqual(['via-socket']);
      expect(captured.lines.filter((l) => l.includes('without TLS'))).toEqual([]);
    } finally {
      await stores.close();
    }
  });
});
