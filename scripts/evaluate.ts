/**
 * `npm run evaluate -- <hook-request.json> [--service <id>] [--now <ISO date-time>] [--fixtures] [--brief]`: prints
 * the CDS Hooks response the service would give, through the same pipeline as the HTTP endpoint minus HTTP; with
 * --brief, one line per card (indicator and summary) and per coverage information (with its reasons) instead of the
 * JSON, for a rule author trying a change. The service is the one declared for the request's hook unless --service
 * names another. With --fixtures, what the call reads from a FHIR server (no prefetch, orders dispatched by
 * reference) comes from the fixture record, served for the run on loopback by the embedded FHIR server, as
 * `npm start` would serve it. A refused request prints the OperationOutcome's issues and exits 1; unusable arguments
 * exit 2.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import express from 'express';
import { loadConfig } from '../src/config.js';
import { readCoverage } from '../src/cards/read-coverage.js';
import type { ActionView } from '../src/cards/read-coverage.js';
import { createEmbeddedFhir } from '../src/fhir/embedded-server.js';
import { handleHook } from '../src/hooks/handle-hook.js';
import { HttpError } from '../src/http/outcomes.js';
import { loadPipeline } from '../src/pipeline.js';

const usage = 'usage: npm run evaluate -- <hook-request.json> [--service <id>] [--now <ISO date-time>] [--fixtures] [--brief]';

/** The answer as a rule author reads it at a glance: the cards, then the coverage information with its reasons. */
function brief(response: { cards?: readonly { indicator?: string; summary?: string }[]; systemActions?: readonly ActionView[] }): string {
  const cards = (response.cards ?? []).map((c) => `  ${c.indicator ?? 'info'}: ${c.summary ?? ''}`);
  const coverage = readCoverage(response.systemActions ?? []);
  const lines = coverage.flatMap((c) => [`  ${c.reference}: ${c.text}`, ...c.reasons.map((r) => `    - ${r}`)]);
  return [`cards (${String(cards.length)})`, ...cards, `coverage information (${String(coverage.length)})`, ...lines].join('\n');
}

/** The fixture record (patients and draft orders) on a loopback FHIR server for this run: its base and how to stop it. */
async function serveFixtures(fixturesDir: string): Promise<{ base: string; stop: () => void }> {
  const fhir = await createEmbeddedFhir(fixturesDir, join(dirname(fixturesDir), 'orders'));
  const server = express().use('/fhir', fhir.router).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { base: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/fhir`, stop: () => server.close() };
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ allowPositionals: true, options: { service: { type: 'string' }, now: { type: 'string' }, fixtures: { type: 'boolean' }, brief: { type: 'boolean' } } });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  const file = args.positionals[0];
  if (!file || args.positionals.length > 1) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  let body: unknown;
  try {
    body = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    process.stderr.write(`${file}: not a readable JSON file (${(err as Error).message})\n`);
    return 2;
  }
  const now = args.values.now ? new Date(args.values.now) : new Date();
  if (Number.isNaN(now.getTime())) {
    process.stderr.write(`--now "${args.values.now ?? ''}" is not a date-time\n`);
    return 2;
  }
  const config = loadConfig({ ...process.env, NODE_ENV: process.env['NODE_ENV'] ?? 'development' });
  const { pipeline } = loadPipeline(config);
  const hook = (body as { hook?: unknown } | null)?.hook;
  const serviceId = args.values.service ?? [...pipeline.services.values()].find((s) => s.hook === hook)?.id ?? String(hook);
  const fixtures = args.values.fixtures ? await serveFixtures(config.fixturesDir) : undefined;
  if (fixtures && body !== null && typeof body === 'object') (body as Record<string, unknown>)['fhirServer'] = fixtures.base;
  try {
    const response = await handleHook(pipeline, serviceId, body, now);
    process.stdout.write(`${args.values.brief ? brief(response) : JSON.stringify(response, null, 2)}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    process.stderr.write(`the service would answer HTTP ${err.status}:\n`);
    for (const issue of err.outcome.issue ?? []) {
      process.stderr.write(`- ${issue.expression?.[0] ? `${issue.expression[0]}: ` : ''}${issue.details?.text ?? issue.code}\n`);
    }
    return 1;
  } finally {
    fixtures?.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 1;
  }
);
