/**
 * Starts the real service (real express app, real embedded FHIR server, real SQLite store) on an ephemeral
 * loopback port, and calls it over real HTTP. Every body that comes back goes through the spec oracle.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import type { Extension } from '@medplum/fhirtypes';
import { buildApp } from '../../src/app.js';
import type { BuiltApp, BuildOverrides } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createHttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import type { Logger } from '../../src/log.js';
import type { EvaluationInput, Evaluator } from '../../src/hooks/handle-hook.js';
import { discoveryFailures, feedbackFailures, outcomeFailures, responseFailures } from './spec-oracle.js';

/** A running service under test. */
export interface RunningService {
  readonly baseUrl: string;
  readonly built: BuiltApp;
  stop(): Promise<void>;
}

/** An answer, parsed. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
  readonly text: string;
}

/**
 * A real logger at debug level whose lines are kept in memory, to assert what reaches the log.
 * @returns the lines written so far and the logger.
 */
export function captureLog(): { lines: string[]; log: Logger } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, log: createLogger('debug', stream) };
}

/** A fresh temporary SQLite path. */
export function tempStorePath(): string {
  return join(mkdtempSync(join(tmpdir(), 'itcds-')), 'feedback.sqlite');
}

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

/**
 * A free loopback port, for a service whose public URL must be known before it starts (SMART issuer, redirects).
 * @returns the port.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts the service with test configuration.
 * @param env - environment overrides (e.g. MAX_BODY_BYTES).
 * @param overrides - evaluator, clock.
 * @returns the running service.
 */
export async function startService(env: Record<string, string> = {}, overrides: BuildOverrides = {}): Promise<RunningService> {
  const config = loadConfig({ NODE_ENV: 'test', PORT: '0', STORE_PATH: tempStorePath(), PREFETCH_DEADLINE_MS: '2000', ...env });
  const built = buildApp(config, overrides);
  await built.ready;
  const server = createHttpServer(built.app, config.requestTimeoutMs);
  const port = await listen(server, config.port);
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    built,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          void built.close().then(resolve);
        });
      }),
  };
}

/**
 * Sends a request and checks the answer with the spec oracle: hook responses and discovery against the spec's
 * constraints, every error body as an OperationOutcome without a stack trace.
 * @param svc - the running service.
 * @param method - HTTP method.
 * @param path - path below the base URL.
 * @param body - a value to send as JSON, or a raw string.
 * @param headers - extra headers.
 * @returns the parsed answer.
 */
export async function call(svc: RunningService, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const init: RequestInit = { method, headers: { ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(`${svc.baseUrl}${path}`, init);
  const text = await res.text();
  const parsed = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
  const isFeedback = path.endsWith('/feedback');
  if (res.status >= 400) expect(outcomeFailures(parsed), `error body of ${method} ${path}`).toEqual([]);
  else if (res.status === 200 && method === 'POST' && path.startsWith('/cds-services/') && !isFeedback) {
    expect(responseFailures(parsed), `hook response of ${path}`).toEqual([]);
  } else if (res.status === 200 && method === 'GET' && path === '/cds-services') expect(discoveryFailures(parsed)).toEqual([]);
  if (isFeedback && method === 'POST' && res.status === 200) expect(feedbackFailures(body), 'a feedback body the service accepted').toEqual([]);
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** The Da Vinci CRD coverage-information extension, as the IG names it (written out: a test states the spec). */
const COVERAGE_INFORMATION = 'http://hl7.org/fhir/us/davinci-crd/StructureDefinition/ext-coverage-information';

/**
 * The coverage-information annotation a system action put on an order or Appointment, as sub-extension url -> its
 * code (covered, pa-needed, billingCode) or text.
 * @param resource - the action's resource.
 * @returns the values by url (empty when it carries no annotation).
 */
export function coverageAnnotation(resource: { readonly extension?: readonly Extension[] } | undefined): Record<string, string | undefined> {
  const annotation = resource?.extension?.find((e) => e.url === COVERAGE_INFORMATION);
  return Object.fromEntries((annotation?.extension ?? []).map((e) => [e.url, e.valueCode ?? e.valueCoding?.code ?? e.valueString ?? e.valueCodeableConcept?.text]));
}

/**
 * Creates a resource on the service's embedded FHIR server (its EHR), as a record the EHR already holds.
 * @param svc - a service started with the embedded FHIR server.
 * @param resource - the resource (its id, if any, is left to the server).
 * @returns the id the server gave it.
 */
export async function createOnEhr(svc: RunningService, resource: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${svc.baseUrl}/fhir/${String(resource['resourceType'])}`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify({ ...resource, id: undefined }) });
  if (res.status !== 201) throw new Error(`the embedded FHIR server answered ${String(res.status)} to the create`);
  return ((await res.json()) as { id: string }).id;
}

/**
 * Gives a person read access to the audit log with the real `npm run audit:reader` script.
 * @param name - the reader's name.
 * @param file - the readers file (made when missing).
 * @returns the token the script printed once.
 */
export function addAuditReader(name: string, file: string): string {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/audit-reader.ts', name, file], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`audit:reader failed: ${result.stderr}`);
  return result.stdout.trim();
}

/**
 * Reads a committed fixture request.
 * @param name - file name in fhir-fixtures/requests.
 * @returns the request body.
 */
export function fixtureRequest(name: string): Record<string, unknown> & { context: Record<string, unknown>; prefetch?: Record<string, unknown> } {
  return JSON.parse(readFileSync(join('fhir-fixtures', 'requests', name), 'utf8')) as ReturnType<typeof fixtureRequest>;
}

/**
 * An evaluator that records what it was given and answers one card listing the resource ids per key, so tests
 * can see what data assembly produced. It stands in for the rule engine, which is not part of these tests.
 * @returns the evaluator and the inputs it saw.
 */
export function recordingEvaluator(): { evaluate: Evaluator; inputs: EvaluationInput[] } {
  const inputs: EvaluationInput[] = [];
  return {
    inputs,
    evaluate: (input) => {
      inputs.push(input);
      const keys = Object.entries(input.data.resources).map(([k, v]) => `${k}:${v.length}`);
      return {
        cards: [{ uuid: randomUUID(), summary: `Seen ${keys.join(' ')}`, indicator: 'info', source: { label: 'test recorder' } }],
      };
    },
  };
}

/** The ids per key an evaluation saw, for comparing two assemblies. */
export function idsPerKey(input: EvaluationInput): Record<string, string[]> {
  return Object.fromEntries(Object.entries(input.data.resources).map(([k, v]) => [k, v.map((r) => `${r.resourceType}/${r.id ?? ''}`).sort()]));
}

/** A local HTTP server that plays a faulty or instrumented FHIR server; the faults cannot be had from a real one. */
export interface FakeFhir {
  readonly url: string;
  readonly requests: { url: string; authorization?: string }[];
  stop(): Promise<void>;
}

/**
 * Starts a local stand-in FHIR server with a handler.
 * @param handler - answers each request (may never answer, to play a hanging server).
 * @returns the server, its base URL (…/fhir) and the requests it saw.
 */
export async function startFakeFhir(handler: (req: IncomingMessage, res: ServerResponse, base: string) => void): Promise<FakeFhir> {
  const requests: { url: string; authorization?: string }[] = [];
  let base = '';
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    handler(req, res, base);
  });
  const port = await listen(server);
  base = `http://127.0.0.1:${port}/fhir`;
  return {
    url: base,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
