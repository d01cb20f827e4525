import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has safe development defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ mode: 'development', port: 3000, host: '127.0.0.1', publicBaseUrl: 'http://localhost:3000', prefetchDeadlineMs: 3000, maxBodyBytes: 5 * 1024 * 1024, logBufferBytes: 8 * 1024 * 1024, embeddedFhir: true, allowUnauthenticated: true, trustSandbox: true });
  });

  it('needs PUBLIC_BASE_URL and CDS_CLIENTS_FILE in production and switches every convenience off', () => {
    const prod = { NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://cds.example.org/', CDS_CLIENTS_FILE: 'clients.json' };
    expect(() => loadConfig({ NODE_ENV: 'production', CDS_CLIENTS_FILE: 'clients.json' })).toThrow(/PUBLIC_BASE_URL is required/);
    expect(() => loadConfig({ NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://cds.example.org' })).toThrow(/CDS_CLIENTS_FILE is required/);
    const config = loadConfig(prod);
    expect(config).toMatchObject({ mode: 'production', publicBaseUrl: 'https://cds.example.org', embeddedFhir: false, host: '0.0.0.0', allowUnauthenticated: false, trustSandbox: false });
    expect(loadConfig({ ...prod, EMBEDDED_FHIR: 'true' }).embeddedFhir).toBe(true);
    expect(() => loadConfig({ ...prod, ALLOW_UNAUTHENTICATED: 'true' })).toThrow(/ALLOW_UNAUTHENTICATED cannot be true in production/);
    expect(() => loadConfig({ ...prod, TRUST_SANDBOX: 'yes' })).toThrow(/TRUST_SANDBOX cannot be true in production/);
  });

  it('refuses a NODE_ENV it does not know rather than run in development mode, which serves calls without a JWT', () => {
    for (const value of ['prod', 'Production', 'staging']) {
      expect(() => loadConfig({ NODE_ENV: value })).toThrow(ConfigError);
      expect(() => loadConfig({ NODE_ENV: value })).toThrow(`NODE_ENV must be production, development or test, got "${value}"`);
    }
    expect(loadConfig({ NODE_ENV: '' }).mode).toBe('development');
    expect(loadConfig({ NODE_ENV: 'development' }).mode).toBe('development');
    expect(loadConfig({ NODE_ENV: 'test' }).mode).toBe('test');
  });

  it('takes a LOG_LEVEL pino knows, in any case, and refuses another instead of failing in the logger', () => {
    expect(loadConfig({ LOG_LEVEL: 'Debug' }).logLevel).toBe('debug');
    expect(loadConfig({ NODE_ENV: 'test' }).logLevel).toBe('silent');
    expect(loadConfig({}).logLevel).toBe('info');
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow('LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"');
  });

  it('keeps the audit log in its own file beside STORE_PATH, for six years unless told otherwise, readable by nobody unless named', () => {
    expect(loadConfig({})).toMatchObject({ auditStorePath: 'data/intrathecal-cds-audit.sqlite', auditRetentionDays: 2190 });
    expect(loadConfig({}).auditReadersFile).toBeUndefined();
    expect(loadConfig({ STORE_PATH: '/var/lib/itcds/store.sqlite' }).auditStorePath).toBe('/var/lib/itcds/intrathecal-cds-audit.sqlite');
    expect(loadConfig({ STORE_PATH: ':memory:' }).auditStorePath).toBe(':memory:');
    expect(loadConfig({ STORE_PATH: ':memory:', AUDIT_STORE_PATH: '/secure/audit.sqlite', AUDIT_READERS_FILE: 'readers.json', AUDIT_RETENTION_DAYS: '3650' })).toMatchObject({ auditStorePath: '/secure/audit.sqlite', auditReadersFile: 'readers.json', auditRetentionDays: 3650 });
    expect(() => loadConfig({ AUDIT_RETENTION_DAYS: '0' })).toThrow(/AUDIT_RETENTION_DAYS must be an integer between 1 and 36500/);
  });

  it('keeps the audit records PostgreSQL did not take in a spool beside STORE_PATH, none for an in-memory store, 1 GB at most', () => {
    expect(loadConfig({})).toMatchObject({ auditSpoolDir: 'data/audit-spool', auditSpoolMaxMb: 1024 });
    expect(loadConfig({ STORE_PATH: '/var/lib/itcds/store.sqlite' }).auditSpoolDir).toBe('/var/lib/itcds/audit-spool');
    expect(loadConfig({ STORE_PATH: ':memory:' }).auditSpoolDir).toBeUndefined();
    expect(loadConfig({ STORE_PATH: ':memory:', AUDIT_SPOOL_DIR: '/spool', AUDIT_SPOOL_MAX_MB: '64' })).toMatchObject({ auditSpoolDir: '/spool', auditSpoolMaxMb: 64 });
    expect(() => loadConfig({ AUDIT_SPOOL_MAX_MB: '0' })).toThrow(/AUDIT_SPOOL_MAX_MB must be an integer between 1 and 1000000/);
    expect(loadConfig({ AUDIT_SPOOL_HOST: ' pod-7 ' }).auditSpoolHost).toBe('pod-7');
    expect(loadConfig({ AUDIT_SPOOL_HOST: '' }).auditSpoolHost).toBeUndefined();
  });

  it('trusts a proxy to name the caller only when told which: none, a hop count, or addresses and subnets', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'off' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'Loopback, 10.1.0.0/16, fd00::1, 192.0.2.7' }).trustProxy).toEqual(['loopback', '10.1.0.0/16', 'fd00::1', '192.0.2.7']);
    expect(loadConfig({}).authFailuresPerMinute).toBe(30);
  });

  it('takes a PostgreSQL DATABASE_URL, and never repeats a refused one (it holds a password)', () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: ' postgresql://cds:s3cret@db.example:5432/cds ' }).databaseUrl).toBe('postgresql://cds:s3cret@db.example:5432/cds');
    expect(() => loadConfig({ DATABASE_URL: 'https://cds:s3cret@db.example/cds' })).toThrow(/^DATABASE_URL must start with postgres:\/\/ or postgresql:\/\/, not https:\/\/$/);
    expect(loadConfig({}).databasePoolSize).toBe(10);
    expect(loadConfig({ DATABASE_POOL_SIZE: '4' }).databasePoolSize).toBe(4);
    expect(() => loadConfig({ DATABASE_POOL_SIZE: '0' })).toThrow(/DATABASE_POOL_SIZE/);
  });

  it("checks DATABASE_URL's TLS parameters before the driver reads them, naming the one refused and not the password", () => {
    const ca = join(mkdtempSync(join(tmpdir(), 'itcds-ca-')), 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
    const tls = `postgres://cds:s3cret@db.example/cds?sslmode=verify-full&sslrootcert=${ca}`;
    expect(loadConfig({ DATABASE_URL: tls }).databaseUrl).toBe(tls);
    const refused = (url: string): string => {
      try {
        loadConfig({ DATABASE_URL: url });
      } catch (err) {
        return err instanceof ConfigError ? err.message : `not a ConfigError: ${String(err)}`;
      }
      return 'accepted';
    };
    // A Unix socket with credentials before an empty host is not a URL; the error says how to write it, without it.
    expect(refused('postgres://cds:s3cret@/cds?host=/run/postgresql')).toBe('DATABASE_URL is not a URL: use postgres://user:password@host:port/database, or for a Unix socket postgres:///database?host=/run/postgresql&user=name');
    expect(loadConfig({ DATABASE_URL: 'postgres:///cds?host=/run/postgresql&user=cds' }).databaseUrl).toBe('postgres:///cds?host=/run/postgresql&user=cds');
    expect(refused('postgres://cds:s3cret@db.example/cds?sslmode=allow')).toBe('DATABASE_URL: sslmode=allow is not one of disable, prefer, require, verify-ca, verify-full, no-verify');
    expect(refused('postgres://cds:s3cret@db.example/cds?sslmode=verify-full&sslrootcert=/nowhere/ca.pem')).toBe('DATABASE_URL: sslrootcert=/nowhere/ca.pem cannot be read (ENOENT)');
    expect(refused('postgres://cds:s3cret@db.example/cds?sslcert=/nowhere/c.pem&sslkey=/nowhere/c.key')).toBe('DATABASE_URL: sslcert=/nowhere/c.pem cannot be read (ENOENT)');
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PREFETCH_DEADLINE_MS: '0' }, 'PREFETCH_DEADLINE_MS'],
    [{ MAX_BODY_BYTES: '1.5' }, 'MAX_BODY_BYTES'],
    [{ LOG_BUFFER_BYTES: '1000' }, 'LOG_BUFFER_BYTES'],
    [{ EMBEDDED_FHIR: 'maybe' }, 'EMBEDDED_FHIR'],
    [{ PUBLIC_BASE_URL: 'ftp://x' }, 'PUBLIC_BASE_URL'],
    [{ AUTH_FAILURES_PER_MINUTE: '0' }, 'AUTH_FAILURES_PER_MINUTE'],
    [{ TRUST_PROXY: 'true' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '11' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: '10.0.0.0/33' }, 'TRUST_PROXY'],
    [{ TRUST_PROXY: 'loopback, proxy.example' }, 'TRUST_PROXY'],
    [{ DATABASE_URL: 'mysql://u:p@db.example/x' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'db.example:5432' }, 'DATABASE_URL'],
  ])('refuses %j naming the variable', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
});
