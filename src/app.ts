/**
 * Builds the express application from its parts. `createApp` wires routes and does not listen; `buildApp`
 * builds the real parts from a configuration (rule packs, database, trusted clients, embedded FHIR server).
 */
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import express from 'express';
import type { Express, NextFunction, Request, Response } from 'express';
import { auditRoutes } from './audit/audit-routes.js';
import type { AuditWriter } from './audit/audit-writer.js';
import { watchReaders } from './audit/readers.js';
import type { CurrentReaders } from './audit/readers.js';
import { recordInvocations } from './audit/record-invocations.js';
import { pruneAuditLog } from './audit/retention.js';
import type { Config } from './config.js';
import type { EmbeddedEhr } from './ehr/embedded-ehr.js';
import type { Evaluator } from './hooks/handle-hook.js';
import { cdsRoutes } from './hooks/routes.js';
import { cors } from './http/cors.js';
import { errorHandler } from './http/error-handler.js';
import { jsonBody } from './http/json-body.js';
import { HttpError, notFound } from './http/outcomes.js';
import { rateLimit } from './http/rate-limit.js';
import { createLogger } from './log.js';
import type { Logger } from './log.js';
import { loadPipeline } from './pipeline.js';
import { CurrentRules } from './reload/current-rules.js';
import type { WorkerRules } from './reload/cluster-rules.js';
import type { AnsweringRules } from './reload/current-rules.js';
import { rateKey } from './security/access.js';
import { accessOf, authenticate } from './security/authenticate.js';
import { FailedAuthentications } from './security/failed-authentications.js';
import { appRoutes } from './smart/app-routes.js';
import { loadTrustedClients } from './security/clients.js';
import type { TrustedClient } from './security/clients.js';
import type { AuditStore } from './store/audit-store.js';
import type { FeedbackStore } from './store/feedback-store.js';
import { openStores } from './store/open-stores.js';
import type { ReplayStore } from './store/replay-store.js';

/** The parts an application is made of. */
export interface AppParts {
  readonly config: Config;
  /** The rule packs and hook pipeline, as of each call (reloaded on SIGHUP, see main.ts). */
  readonly rules: CurrentRules;
  readonly feedback: FeedbackStore;
  readonly replay: ReplayStore;
  /** The audit log of hook invocations (read here, written through `auditWriter`). */
  readonly audit: AuditStore;
  readonly auditWriter: AuditWriter;
  /** Who may read the audit log over HTTP, as of each read; undefined: nobody. */
  readonly auditReaders: CurrentReaders | undefined;
  readonly clients: ReadonlyMap<string, TrustedClient>;
  readonly log: Logger;
  readonly clock: () => Date;
  /**
   * The embedded EHR (FHIR server, authorization server, launcher) of the development default, while it loads:
   * the hook endpoints answer meanwhile, and its own routes wait for it.
   */
  readonly ehr?: Promise<EmbeddedEhr>;
  /** In a cluster (WORKERS > 1): the rules every worker answers with, as the primary last said (cluster-rules.ts). */
  readonly workers?: () => readonly WorkerRules[];
  /** Asks the database whether it answers now (readiness); throws the 503 a call would get when it does not. */
  readonly checkStores?: () => Promise<string>;
}

const REQUEST_ID = /^[\w.-]{1,64}$/;

/** The rules a request is answered with: the ones current when it arrived, through to its audit record. */
function answeringRules(res: Response): AnsweringRules {
  return res.locals['rules'] as AnsweringRules;
}

function requestLog(log: Logger, rules: CurrentRules) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    const answering = rules.current;
    res.locals['rules'] = answering;
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.locals['requestId'] = requestId;
    res.setHeader('X-Request-Id', requestId);
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // Only the route shape is logged: ids in paths (patient ids on /fhir) are patient data.
      const path = req.originalUrl.split('?')[0] ?? '';
      const route = path.startsWith('/fhir') ? '/fhir' : path.slice(0, 200);
      const client = res.locals['clientIss'] as string | undefined;
      log.info({ requestId, method: req.method, route, serviceId: res.locals['serviceId'] as string | undefined, client, status: res.statusCode, ms: Math.round(ms * 100) / 100, packs: answering.label }, 'request');
    });
    next();
  };
}

/**
 * Wires the express application. Does not listen.
 * @param parts - configuration, pipeline, stores, clients, logger, clock and the optional embedded FHIR server.
 * @returns the express application.
 */
export function createApp(parts: AppParts): Express {
  const app = express();
  const { config } = parts;
  app.disable('x-powered-by');
  app.set('etag', false);
  // req.ip: the socket's address, or the one a trusted proxy names (TRUST_PROXY).
  app.set('trust proxy', config.trustProxy);
  app.use(requestLog(parts.log, parts.rules));
  // With the rules this process answers with: after a reload, which ones took. In a cluster, every worker's too, and
  // whether they agree (a monitor can alert on `sameRules: false`). And the audit log's writer: a monitor can alert
  // on `audit.notWritten` above 0 (records lost), or on `audit.spoolBytes` growing (the database or the audit file not taking them).
  app.get('/healthz', (_req, res) => {
    const workers = parts.workers?.();
    const cluster = workers ? { workers, sameRules: new Set(workers.map((w) => w.packs)).size <= 1 } : {};
    res.json({ status: 'ok', packs: answeringRules(res).label, audit: parts.auditWriter.state(), ...cluster });
  });
  // Readiness: whether the process can serve an authenticated call now. Its database answers (the JWT replay store,
  // feedback and the audit log are there); otherwise 503 with Retry-After, as the calls get, so a load balancer or
  // an orchestrator sends them elsewhere meanwhile. /healthz says the process lives.
  app.get('/readyz', async (_req, res) => {
    const database = parts.checkStores ? await parts.checkStores() : 'none';
    res.json({ status: 'ready', packs: answeringRules(res).label, database });
  });
  const auth = authenticate({
    clients: parts.clients,
    replay: parts.replay,
    publicBaseUrl: config.publicBaseUrl,
    allowUnauthenticated: config.allowUnauthenticated,
    clockSkewS: config.jwtClockSkewS,
    maxAgeS: config.jwtMaxAgeS,
    log: parts.log,
    clock: parts.clock,
  });
  const limit = rateLimit(config.rateLimitPerMinute, (_req, res) => rateKey(accessOf(res)));
  // Refused credentials count against their address; past the limit its calls are refused before their credential
  // is checked (each ES384 check costs about a millisecond and a half of CPU). Hook calls are not counted when
  // unauthenticated calls are served anyway (development); the audit log's readers always are.
  const failures = new FailedAuthentications(config.authFailuresPerMinute, parts.log);
  const hookFailures = config.allowUnauthenticated ? undefined : failures;
  // Hook and feedback calls: authenticate, count against the caller's rate, then read the body.
  const guard = (req: Request, res: Response, next: NextFunction): void => {
    if (req.method !== 'POST' || req.path === '/' || req.path === '') {
      next();
      return;
    }
    const address = req.ip ?? 'unknown';
    const refused = hookFailures?.refusal(address);
    if (refused) {
      next(refused);
      return;
    }
    auth(req, res, (err?: unknown) => (err ? next(err) : limit(req, res, next))).catch((err: unknown) => {
      if (err instanceof HttpError && err.status === 401) hookFailures?.failed(address, res.locals['requestId'] as string);
      next(err);
    });
  };
  const record = recordInvocations({ writer: parts.auditWriter, clock: parts.clock, packs: (res) => answeringRules(res).label });
  app.use('/cds-services', cors, guard, record, jsonBody(config.maxBodyBytes), cdsRoutes({ pipeline: (res) => answeringRules(res).pipeline, feedback: parts.feedback, servedBefore: (id) => parts.rules.hasServed(id), clock: parts.clock, production: config.mode === 'production' }));
  // The SMART app and its evaluation API (rate-limited per address: it evaluates what the browser sends).
  const appLimit = rateLimit(config.rateLimitPerMinute, (req) => `app:${req.ip ?? 'unknown'}`);
  app.use('/app', (req, res, next) => (req.method === 'POST' ? appLimit(req, res, next) : next()), appRoutes({
    packs: (res) => answeringRules(res).packs,
    clientId: config.smartClientId,
    allowedIssuers: config.smartAllowedIssuers,
    publicBaseUrl: config.publicBaseUrl,
    maxBodyBytes: config.maxBodyBytes,
    clock: parts.clock,
  }));
  // The audit log, for its configured readers (rate-limited per address like the app's API).
  const auditLimit = rateLimit(config.rateLimitPerMinute, (req) => `audit:${req.ip ?? 'unknown'}`);
  app.use('/audit', auditLimit, auditRoutes({ store: parts.audit, feedback: parts.feedback, writer: parts.auditWriter, readers: parts.auditReaders, failures, log: parts.log, clock: parts.clock, publicBaseUrl: config.publicBaseUrl }));
  if (parts.ehr) {
    const ehr = parts.ehr;
    // Each EHR route waits for the EHR to be loaded (a second or so after start), then hands the request on.
    // A failure to load is reported through `ready` (main stops the process); here it only reaches the request.
    const once = <T>(make: (e: EmbeddedEhr) => T): Promise<T> => {
      const part = ehr.then(make);
      part.catch(() => undefined);
      return part;
    };
    const oidc = once((e) => e.provider.callback());
    const pages = once((e) => e.pages);
    const fhir = once((e) => e.fhir.router);
    app.use('/oidc', (req, res, next) => {
      oidc.then((handle) => void handle(req, res), next);
    });
    app.use('/ehr', (req, res, next) => {
      pages.then((router) => router(req, res, next), next);
    });
    app.get('/', (_req, res) => {
      res.redirect(302, '/ehr/launcher');
    });
    app.use('/fhir', (req, res, next) => {
      fhir.then((router) => router(req, res, next), next);
    });
  }
  app.use((req: Request) => {
    throw notFound(`Nothing is served at ${req.method} ${req.path.slice(0, 200)}`);
  });
  app.use(errorHandler(parts.log));
  return app;
}

/** A built application and what must be closed with it. */
export interface BuiltApp {
  readonly app: Express;
  readonly parts: AppParts;
  /** Settles when the stores can be used (DATABASE_URL reached, its tables made); rejects when they cannot. */
  readonly stored: Promise<void>;
  /** Settles when everything loading in the background (the stores, the embedded EHR) is ready; rejects when it failed. */
  readonly ready: Promise<void>;
  /** Writes what the audit writer holds, then closes the databases; a second call waits for the first. */
  close(): Promise<void>;
}

/** Overrides for tests and tools (a fixed clock, another evaluator, another logger), and what a cluster worker adds. */
export interface BuildOverrides {
  readonly clock?: () => Date;
  readonly evaluate?: Evaluator;
  readonly log?: Logger;
  /** A cluster worker's view of every worker's rules (main.ts). */
  readonly workers?: () => readonly WorkerRules[];
}

/**
 * Builds the real parts from a configuration and wires the application.
 * @param config - the configuration.
 * @param overrides - optional clock, evaluator and logger.
 * @returns the application, `ready` (the embedded EHR loads in the background) and a close function.
 */
export function buildApp(config: Config, overrides: BuildOverrides = {}): BuiltApp {
  const log = overrides.log ?? createLogger(config.logLevel, { maxBufferBytes: config.logBufferBytes });
  const rules = new CurrentRules(() => loadPipeline(config, overrides.evaluate), log);
  const clients = loadTrustedClients(config.clientsFile, { production: config.mode === 'production', trustSandbox: config.trustSandbox });
  const auditReaders = config.auditReadersFile ? watchReaders(config.auditReadersFile, log) : undefined;
  if (config.allowUnauthenticated) log.warn('development mode: hook and feedback calls without a valid JWT are served (ALLOW_UNAUTHENTICATED)');
  if (clients.has('https://sandbox.cds-hooks.org') && config.trustSandbox) log.warn('development mode: the CDS Hooks sandbox issuer is trusted (TRUST_SANDBOX)');
  if (config.mode === 'production' && config.embeddedFhir) {
    log.warn('EMBEDDED_FHIR=true in production: the embedded EHR signs every visitor in as its fixture practitioner, without a password, and its tokens reach its data; serve synthetic data only');
  }
  const stores = openStores(config, log);
  if (!auditReaders && config.mode === 'production') log.warn('no AUDIT_READERS_FILE: the audit log is kept but nobody can read it over HTTP');
  // Not awaited: the hook path does not need the EHR, so the service answers hooks while it loads. Imported only
  // when configured: its modules (the authorization server, the FHIR router and definitions) took 0.5-0.7 s to load,
  // which the production shape, without it, paid at every start.
  const ehr = config.embeddedFhir
    ? import('./ehr/embedded-ehr.js').then(({ createEmbeddedEhr }) => createEmbeddedEhr({
        publicBaseUrl: config.publicBaseUrl,
        fixturesDir: config.fixturesDir,
        ordersDir: join(dirname(config.fixturesDir), 'orders'),
        accessTokenTtlS: config.ehrTokenTtlS,
        requireToken: config.mode === 'production',
        callHooks: config.allowUnauthenticated,
      }))
    : undefined;
  const parts: AppParts = {
    config,
    rules,
    feedback: stores.feedback,
    replay: stores.replay,
    audit: stores.audit,
    auditWriter: stores.auditWriter,
    auditReaders,
    clients,
    log,
    clock: overrides.clock ?? (() => new Date()),
    ...(ehr ? { ehr } : {}),
    ...(overrides.workers ? { workers: overrides.workers } : {}),
    checkStores: () => stores.check(),
  };
  // Once the tables exist (a DATABASE_URL that cannot be reached stops the service, reported by its starter).
  let pruning: ReturnType<typeof pruneAuditLog> | undefined;
  const pruned = stores.ready.then(
    () => {
      pruning = pruneAuditLog(parts.audit, config.auditRetentionDays, parts.clock, log);
    },
    () => undefined
  );
  // Once: a cluster worker hears both its primary's disconnect and, from a terminal, the signal itself.
  let closed: Promise<void> | undefined;
  const closeAll = async (): Promise<void> => {
    await pruned;
    await pruning?.stop();
    await stores.close();
  };
  const ready = Promise.all([stores.ready, ehr]).then(() => undefined);
  // Awaited by whoever starts the service (main reports a failure there); never a rejection nobody hears.
  ready.catch(() => undefined);
  return {
    app: createApp(parts),
    parts,
    stored: stores.ready,
    ready,
    close: () => (closed ??= closeAll()),
  };
}
