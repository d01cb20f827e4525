/**
 * One typed configuration, read once from the environment at start-up.
 * Every variable is documented in the README's configuration table; keep the two in step.
 */
import { accessSync, constants } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';

/** The service's runtime configuration. */
export interface Config {
  /** `production` switches off every development convenience (embedded FHIR server, open CORS defaults stay). */
  readonly mode: 'development' | 'production' | 'test';
  /** TCP port to listen on. */
  readonly port: number;
  /** Interface to bind. */
  readonly host: string;
  /** The URL clients call, without trailing slash; used for JWT `aud` checks and for links in cards. */
  readonly publicBaseUrl: string;
  /** Path of the SQLite file that holds feedback (`:memory:` for a throw-away store). */
  readonly storePath: string;
  /**
   * PostgreSQL URL (postgres://user:password@host:port/database) where feedback, the JWT replay store and the audit
   * log go instead of STORE_PATH and AUDIT_STORE_PATH, so that instances on several machines share them. Holds a
   * password: never logged.
   */
  readonly databaseUrl?: string;
  /** Connections each process may hold to DATABASE_URL (10 by default, the `pg` driver's own). */
  readonly databasePoolSize: number;
  /**
   * Path of the SQLite file of the audit log (hook invocations, their answers, and reads of the log): patient data,
   * created readable by its owner only. Next to STORE_PATH by default; `:memory:` when STORE_PATH is.
   */
  readonly auditStorePath: string;
  /**
   * The folder where audit records the database (DATABASE_URL) or the audit file does not take (an outage, a lock or
   * a full disk past the writer's retries) are kept until it does (src/audit/audit-spool.ts); patient data, created
   * readable by its owner only.
   * `audit-spool` beside STORE_PATH by default; none when STORE_PATH is `:memory:` (such records are then lost).
   */
  readonly auditSpoolDir?: string;
  /** The most the audit spool may hold, in megabytes (1024 by default). */
  readonly auditSpoolMaxMb: number;
  /**
   * The name of this machine in the audit spool's file names (AUDIT_SPOOL_HOST; its host name when unset): a process
   * drains the spool files of its own host only, so a name set here adopts the files of a host gone for good.
   */
  readonly auditSpoolHost?: string;
  /** JSON file of the staff who may read the audit log over HTTP; without it, nobody can. */
  readonly auditReadersFile?: string;
  /** Days an audit row is kept (a configurable choice; see src/audit/retention.ts). */
  readonly auditRetentionDays: number;
  /** One deadline, in milliseconds, for all FHIR calls made to fill missing prefetch keys of one request. */
  readonly prefetchDeadlineMs: number;
  /** Largest accepted request body, in bytes. */
  readonly maxBodyBytes: number;
  /** Whether this process serves the embedded FHIR R4 server at `/fhir`. */
  readonly embeddedFhir: boolean;
  /** Folder of FHIR Bundles loaded into the embedded FHIR server. */
  readonly fixturesDir: string;
  /** Folder of the rule packs and service definitions. */
  readonly rulesDir: string;
  /** JSON file of threshold overrides (threshold id -> number), if any. */
  readonly thresholdsFile?: string;
  /** Log level for the structured log (`silent` in tests). */
  readonly logLevel: string;
  /** Largest log backlog held in memory while stdout is not read, in bytes; lines beyond it are dropped and counted. */
  readonly logBufferBytes: number;
  /** JSON file of trusted CDS clients (required in production). */
  readonly clientsFile?: string;
  /** Development only: hook and feedback calls without a valid JWT are served (and logged as such). */
  readonly allowUnauthenticated: boolean;
  /** Development only: the CDS Hooks sandbox's published issuer is a trusted client. */
  readonly trustSandbox: boolean;
  /** Clock skew tolerated on JWT exp, iat and nbf, in seconds. */
  readonly jwtClockSkewS: number;
  /** Longest JWT lifetime accepted (exp - iat), in seconds; also how long a jti is remembered. */
  readonly jwtMaxAgeS: number;
  /** Timeout of each single FHIR call, in milliseconds (all calls of a request also share PREFETCH_DEADLINE_MS). */
  readonly fhirCallTimeoutMs: number;
  /** Hook and feedback calls per minute allowed per client (per issuer, or per address when unauthenticated). */
  readonly rateLimitPerMinute: number;
  /**
   * Failed authentications per minute allowed per address before its hook and feedback calls are refused with 429
   * without checking their token (when ALLOW_UNAUTHENTICATED is off).
   */
  readonly authFailuresPerMinute: number;
  /**
   * Which proxies in front of the service are trusted to name the caller's address (X-Forwarded-For): none, a
   * number of hops, or addresses and subnets (Express's `trust proxy`).
   */
  readonly trustProxy: false | number | readonly string[];
  /** Longest time to receive a whole request, in milliseconds. */
  readonly requestTimeoutMs: number;
  /** The SMART app's OAuth client id at the EHR. */
  readonly smartClientId: string;
  /** FHIR base URLs (`iss`) the SMART app accepts a launch from. */
  readonly smartAllowedIssuers: readonly string[];
  /** Lifetime of access tokens issued by the embedded EHR, in seconds. */
  readonly ehrTokenTtlS: number;
  /** Processes serving the port (Node cluster); state is in the SQLite store, which they share. */
  readonly workers: number;
}

/** A configuration value that cannot be used; the message names the variable. */
export class ConfigError extends Error {}

type Env = Readonly<Record<string, string | undefined>>;

function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY: unset or false (no proxy), a hop count, or a comma-separated list of addresses, subnets (a.b.c.d/n)
 * and Express's names loopback, linklocal, uniquelocal. `true` (every hop) is refused: it lets any caller choose
 * the address its calls are counted against.
 */
function readTrustProxy(env: Env): false | number | readonly string[] {
  const raw = env['TRUST_PROXY']?.trim();
  if (raw === undefined || raw === '' || ['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  if (/^\d+$/.test(raw)) return readInt(env, 'TRUST_PROXY', 0, 1, 10);
  const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    const [address = '', prefix, extra] = item.split('/');
    const width = isIP(address) === 4 ? 32 : isIP(address) === 6 ? 128 : 0;
    const prefixOk = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= width);
    if (!(PROXY_NAMES.has(item.toLowerCase()) || (width > 0 && prefixOk && extra === undefined))) {
      throw new ConfigError(`TRUST_PROXY must be false, a number of hops (1 to 10), or a list of addresses, subnets, loopback, linklocal or uniquelocal; "${item}" is none of these (true is refused: it lets any caller choose its address)`);
    }
  }
  return items.map((i) => (PROXY_NAMES.has(i.toLowerCase()) ? i.toLowerCase() : i));
}

function readBool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name] ?? ''}"`);
}

function readUrl(env: Env, name: string, fallback: string | undefined): string {
  const raw = env[name]?.trim() || fallback;
  if (raw === undefined) throw new ConfigError(`${name} is required in production mode`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

/** The `sslmode` values the PostgreSQL driver (`pg`) acts on; libpq's `allow` it would treat as `verify-full`. */
const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'];

/**
 * A PostgreSQL URL, its TLS parameters checked; the error never repeats the whole value, which holds a password
 * (only the parameter refused: an `sslmode`, or a certificate file's path).
 */
function readDatabaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('DATABASE_URL is not a URL: use postgres://user:password@host:port/database, or for a Unix socket postgres:///database?host=/run/postgresql&user=name');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new ConfigError(`DATABASE_URL must start with postgres:// or postgresql://, not ${url.protocol}//`);
  const mode = url.searchParams.get('sslmode');
  if (mode !== null && !SSL_MODES.includes(mode)) throw new ConfigError(`DATABASE_URL: sslmode=${mode} is not one of ${SSL_MODES.join(', ')}`);
  // The driver reads these files when it is given the URL, and would stop the start with a stack trace.
  for (const parameter of ['sslrootcert', 'sslcert', 'sslkey']) {
    const file = url.searchParams.get(parameter);
    if (file === null) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (err) {
      throw new ConfigError(`DATABASE_URL: ${parameter}=${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  }
  return value;
}

/** Development conveniences cannot be switched on in production: refuse, rather than ignore, an attempt. */
function refuseInProduction(env: Env, name: string): false {
  if (readBool(env, name, false)) throw new ConfigError(`${name} cannot be true in production mode`);
  return false;
}

/**
 * Where this machine's SQLite files are: STORE_PATH and AUDIT_STORE_PATH, or their defaults (the audit file beside
 * the store's).
 * @param env - the environment.
 * @returns the two paths.
 */
export function sqlitePaths(env: Env = process.env): { storePath: string; auditStorePath: string } {
  const storePath = env['STORE_PATH']?.trim() || 'data/intrathecal-cds.sqlite';
  return { storePath, auditStorePath: env['AUDIT_STORE_PATH']?.trim() || (storePath === ':memory:' ? ':memory:' : join(dirname(storePath), 'intrathecal-cds-audit.sqlite')) };
}

/** AUDIT_SPOOL_DIR, or its default beside STORE_PATH (none for an in-memory store). */
function auditSpool(env: Env, storePath: string): { auditSpoolDir?: string } {
  const set = env['AUDIT_SPOOL_DIR']?.trim();
  if (set) return { auditSpoolDir: set };
  return storePath === ':memory:' ? {} : { auditSpoolDir: join(dirname(storePath), 'audit-spool') };
}

/**
 * NODE_ENV: a value other than these three is refused rather than read as development, the mode that serves calls
 * without a valid JWT (`prod` or `staging` meant to be production would otherwise run with every convenience on).
 */
function readMode(env: Env): 'production' | 'development' | 'test' {
  const raw = env['NODE_ENV']?.trim() ?? '';
  if (raw === '') return 'development';
  if (raw === 'production' || raw === 'development' || raw === 'test') return raw;
  throw new ConfigError(`NODE_ENV must be production, development or test, got "${raw}" (it decides whether calls without a valid JWT are served)`);
}

/** The log levels pino knows. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function readLogLevel(env: Env, fallback: string): string {
  const raw = env['LOG_LEVEL']?.trim().toLowerCase() ?? '';
  if (raw === '') return fallback;
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return raw;
}

/**
 * Reads the configuration from environment variables.
 * @param env - the environment (defaults to `process.env`).
 * @returns the validated configuration.
 * @throws ConfigError naming the variable when a value is unusable.
 */
export function loadConfig(env: Env = process.env): Config {
  const mode = readMode(env);
  const production = mode === 'production';
  const port = readInt(env, 'PORT', 3000, 0, 65535);
  const { storePath, auditStorePath } = sqlitePaths(env);
  let config: Config = {
    mode,
    port,
    host: env['HOST']?.trim() || (production ? '0.0.0.0' : '127.0.0.1'),
    publicBaseUrl: readUrl(env, 'PUBLIC_BASE_URL', production ? undefined : `http://localhost:${port}`),
    storePath,
    ...(env['DATABASE_URL']?.trim() ? { databaseUrl: readDatabaseUrl(env['DATABASE_URL'].trim()) } : {}),
    databasePoolSize: readInt(env, 'DATABASE_POOL_SIZE', 10, 1, 100),
    auditStorePath,
    ...auditSpool(env, storePath),
    auditSpoolMaxMb: readInt(env, 'AUDIT_SPOOL_MAX_MB', 1024, 1, 1_000_000),
    ...(env['AUDIT_SPOOL_HOST']?.trim() ? { auditSpoolHost: env['AUDIT_SPOOL_HOST'].trim() } : {}),
    ...(env['AUDIT_READERS_FILE']?.trim() ? { auditReadersFile: env['AUDIT_READERS_FILE'].trim() } : {}),
    auditRetentionDays: readInt(env, 'AUDIT_RETENTION_DAYS', 2190, 1, 36_500),
    prefetchDeadlineMs: readInt(env, 'PREFETCH_DEADLINE_MS', 3000, 50, 60_000),
    maxBodyBytes: readInt(env, 'MAX_BODY_BYTES', 5 * 1024 * 1024, 1024, 100 * 1024 * 1024),
    embeddedFhir: readBool(env, 'EMBEDDED_FHIR', !production),
    fixturesDir: env['FHIR_FIXTURES_DIR']?.trim() || 'fhir-fixtures/patients',
    rulesDir: env['RULES_DIR']?.trim() || 'cds-hooks',
    ...(env['THRESHOLDS_FILE']?.trim() ? { thresholdsFile: env['THRESHOLDS_FILE'].trim() } : {}),
    logLevel: readLogLevel(env, mode === 'test' ? 'silent' : 'info'),
    logBufferBytes: readInt(env, 'LOG_BUFFER_BYTES', 8 * 1024 * 1024, 64 * 1024, 1024 * 1024 * 1024),
    ...(env['CDS_CLIENTS_FILE']?.trim() ? { clientsFile: env['CDS_CLIENTS_FILE'].trim() } : {}),
    allowUnauthenticated: production ? refuseInProduction(env, 'ALLOW_UNAUTHENTICATED') : readBool(env, 'ALLOW_UNAUTHENTICATED', true),
    trustSandbox: production ? refuseInProduction(env, 'TRUST_SANDBOX') : readBool(env, 'TRUST_SANDBOX', true),
    jwtClockSkewS: readInt(env, 'JWT_CLOCK_SKEW_S', 30, 0, 300),
    jwtMaxAgeS: readInt(env, 'JWT_MAX_AGE_S', 300, 10, 3600),
    fhirCallTimeoutMs: readInt(env, 'FHIR_CALL_TIMEOUT_MS', 2000, 50, 60_000),
    rateLimitPerMinute: readInt(env, 'RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    authFailuresPerMinute: readInt(env, 'AUTH_FAILURES_PER_MINUTE', 30, 1, 1_000_000),
    trustProxy: readTrustProxy(env),
    requestTimeoutMs: readInt(env, 'REQUEST_TIMEOUT_MS', 10_000, 1000, 300_000),
    smartClientId: env['SMART_CLIENT_ID']?.trim() || 'intrathecal-app',
    smartAllowedIssuers: [],
    ehrTokenTtlS: readInt(env, 'EHR_TOKEN_TTL_S', 3600, 1, 86_400),
    workers: readInt(env, 'WORKERS', 1, 1, 64),
  };
  if (config.workers > 1 && config.embeddedFhir) {
    throw new ConfigError('WORKERS > 1 needs EMBEDDED_FHIR=false: the embedded EHR keeps its tokens and launches in one process');
  }
  const issuers = env['SMART_ALLOWED_ISS']?.split(',').map((s) => s.trim()).filter(Boolean);
  config = {
    ...config,
    smartAllowedIssuers: issuers?.map((s, i) => readUrl({ [`SMART_ALLOWED_ISS[${i}]`]: s }, `SMART_ALLOWED_ISS[${i}]`, undefined)) ?? (config.embeddedFhir ? [`${config.publicBaseUrl}/fhir`] : []),
  };
  if (production && !config.clientsFile) throw new ConfigError('CDS_CLIENTS_FILE is required in production mode: name the JSON file of trusted CDS clients');
  return config;
}
