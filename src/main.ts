/**
 * Process entry point: reads the configuration, builds the application and listens.
 */
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { DefinitionError } from './services/service-definitions.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const built = await buildApp(config);
  const { log } = built.parts;
  const server = built.app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    log.info({ mode: config.mode, port, publicBaseUrl: config.publicBaseUrl, embeddedFhir: config.embeddedFhir }, 'listening');
    if (config.embeddedFhir) log.info(`embedded FHIR server at ${config.publicBaseUrl}/fhir (development data, no authentication)`);
  });
  server.requestTimeout = config.requestTimeoutMs;
  server.headersTimeout = Math.min(config.requestTimeoutMs, 60_000);
  const stop = (): void => {
    server.close(() => {
      built.close();
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError || err instanceof DefinitionError ? err.message : (err as Error).stack;
  process.stderr.write(`intrathecal-cds did not start: ${message ?? String(err)}\n`);
  process.exit(1);
});
