/**
 * Process entry point: reads the configuration, builds the application and listens. With WORKERS > 1 the primary
 * forks that many workers (Node cluster) sharing the port; each worker is a full service, and the replay store and
 * feedback live in the SQLite file they share, or in the PostgreSQL database of DATABASE_URL. SIGTERM and SIGINT
 * stop it; SIGHUP reloads the rules.
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import { ConfigError, loadConfig } from './config.js';
import { createHttpServer } from './http/server.js';
import { createLogger } from './log.js';
import { CLUSTER_RULES, ClusterRules, isClusterRules, isRulesReport, RULES_REPORT } from './reload/cluster-rules.js';
import type { RulesReport, WorkerRules } from './reload/cluster-rules.js';
import type { Config } from './config.js';

/** Why the server could not listen, in the words an operator acts on. */
function whyNotListening(err: unknown, config: Config): string {
  const { code, message } = err as NodeJS.ErrnoException;
  switch (code) {
    case 'EADDRINUSE':
      return `PORT ${String(config.port)} on ${config.host} is in use by another process (another copy of the service?); stop it or set PORT to a free port`;
    case 'EACCES':
      return `PORT ${String(config.port)}: permission denied (ports below 1024 need privileges; use a higher PORT behind a proxy)`;
    case 'EADDRNOTAVAIL':
      return `HOST ${config.host} is not an address of this machine`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `HOST ${config.host} does not resolve to an address`;
    default:
      return `cannot listen on HOST ${config.host}, PORT ${String(config.port)}: ${message}`;
  }
}

/**
 * SIGHUP reloads the rules (reload/current-rules.ts): a primary passes it to its workers, a worker or a single process
 * reloads. It is heard from the moment the process starts (its default would end the process, and a worker that ends
 * before it listens stops the service): this module imports little, and the application's modules (about a quarter
 * of a second to load) are imported once the handler is in place. One heard while the rules are first loaded is
 * answered once they are.
 */
let onHangup: (() => void) | undefined;
let hungUpWhileStarting = false;
process.on('SIGHUP', () => {
  if (onHangup) onHangup();
  else hungUpWhileStarting = true;
});

function reloadOnHangup(reload: () => void): void {
  onHangup = reload;
  if (hungUpWhileStarting) {
    hungUpWhileStarting = false;
    reload();
  }
}

/** A cluster worker tells its primary which rules it answers with (cluster-rules.ts); a single process does not. */
function reportRules(packs: string, outcome: RulesReport['outcome']): void {
  if (cluster.isWorker) process.send?.({ type: RULES_REPORT, packs, outcome } satisfies RulesReport);
}

async function serve(config: Config): Promise<void> {
  const { buildApp } = await import('./app.js');
  // In a cluster, every worker's rules as the primary last said (for /healthz).
  let clusterRules: readonly WorkerRules[] = [];
  if (cluster.isWorker) {
    process.on('message', (message: unknown) => {
      if (isClusterRules(message)) clusterRules = message.workers;
    });
  }
  const built = buildApp(config, cluster.isWorker ? { workers: () => clusterRules } : {});
  const { log } = built.parts;
  reloadOnHangup(() => {
    const { outcome, label } = built.parts.rules.reload();
    reportRules(label, outcome);
  });
  // A service that cannot reach its shared database does not listen: it could neither refuse replayed tokens nor
  // keep feedback (a cluster worker that never listened stops the service rather than be restarted in a loop).
  try {
    await built.stored;
  } catch (err) {
    await built.close().catch(() => undefined);
    throw new ConfigError(`DATABASE_URL: the database could not be reached or set up: ${(err as Error).message}`);
  }
  const server = createHttpServer(built.app, config.requestTimeoutMs);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await built.close().catch(() => undefined);
    throw new ConfigError(whyNotListening(err, config));
  }
  // Later faults of the listening socket (out of file descriptors at accept, say) are logged; the calls go on.
  server.on('error', (err: NodeJS.ErrnoException) => log.error({ code: err.code, message: err.message }, 'HTTP server fault'));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  log.info({ mode: config.mode, port, publicBaseUrl: config.publicBaseUrl, embeddedFhir: config.embeddedFhir, worker: cluster.worker?.id }, 'listening');
  reportRules(built.parts.rules.current.label, 'started');
  const stop = (): void => {
    server.close(() => {
      // Every answered call is in the audit log before the process leaves.
      void built.close().finally(() => process.exit(0));
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // A cluster worker is stopped by its primary disconnecting it, which closes its server and waits for the calls
  // under way: the audit writer then writes what it holds, and the process ends.
  if (cluster.isWorker) process.once('disconnect', () => void built.close());
  // The embedded EHR loads while the hook endpoints already answer; a failure to load it stops the service.
  try {
    await built.ready;
  } catch (err) {
    process.stderr.write(`intrathecal-cds: the embedded EHR did not load: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (config.embeddedFhir) log.info(`embedded EHR ready: FHIR at ${config.publicBaseUrl}/fhir, launcher at ${config.publicBaseUrl}/ehr/launcher (development data)`);
}

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.workers > 1 && cluster.isPrimary) {
    let stopping = false;
    // A worker that dies after it has served is replaced. One that dies before it ever listened failed to start
    // (an unusable store path, say): every replacement would fail the same way, so the service stops instead of
    // restarting workers in a loop.
    const listened = new Set<number>();
    // A reload reaches each worker that listens; one still starting gets it once it listens (before, the signal
    // could reach it while it loads its modules, which SIGHUP would end).
    const reloadWhenListening = new Set<number>();
    // Which rules each worker answers with: the log says whether a reload left them agreeing, and each worker is
    // told (its /healthz shows every worker's).
    const rules = new ClusterRules(createLogger(config.logLevel, { maxBufferBytes: config.logBufferBytes }));
    const tellWorkers = (): void => {
      const message = { type: CLUSTER_RULES, workers: rules.workers };
      for (const worker of Object.values(cluster.workers ?? {})) {
        if (worker?.isConnected()) worker.send(message, () => undefined);
      }
    };
    const passHangup = (worker: Worker): void => {
      rules.signalled(worker.id);
      worker.process.kill('SIGHUP');
    };
    cluster.on('message', (worker, message: unknown) => {
      if (!isRulesReport(message)) return;
      rules.reported(worker.id, message);
      tellWorkers();
    });
    cluster.on('listening', (worker) => {
      listened.add(worker.id);
      if (reloadWhenListening.delete(worker.id)) passHangup(worker);
    });
    for (let i = 0; i < config.workers; i++) cluster.fork();
    reloadOnHangup(() => {
      for (const worker of Object.values(cluster.workers ?? {})) {
        if (!worker) continue;
        if (listened.has(worker.id)) passHangup(worker);
        else reloadWhenListening.add(worker.id);
      }
    });
    cluster.on('exit', (worker, code) => {
      rules.exited(worker.id);
      reloadWhenListening.delete(worker.id);
      if (stopping) return;
      tellWorkers();
      if (!listened.has(worker.id)) {
        stopping = true;
        process.stderr.write(`worker ${worker.id} failed to start (exit ${String(code)}); stopping the service\n`);
        for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
        process.exitCode = 1;
        return;
      }
      process.stderr.write(`worker ${worker.id} exited (${String(code)}); starting another\n`);
      cluster.fork();
    });
    // Stop: every worker closes its server, writes what its audit writer holds and exits; the primary leaves after
    // the last, not once they are disconnected, so a supervisor that stops the service when the primary has gone
    // (systemd's control group, a container) does not end a worker still writing its audit records.
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      let running = Object.keys(cluster.workers ?? {}).length;
      if (running === 0) process.exit(0);
      cluster.on('exit', () => {
        running -= 1;
        if (running === 0) process.exit(0);
      });
      cluster.disconnect();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    return;
  }
  return serve(config);
}

main().catch(async (err: unknown) => {
  const { DefinitionError } = await import('./services/service-definitions.js');
  const message = err instanceof ConfigError || err instanceof DefinitionError ? err.message : (err as Error).stack;
  process.stderr.write(`intrathecal-cds did not start: ${message ?? String(err)}\n`);
  process.exit(1);
});
