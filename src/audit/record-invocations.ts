/**
 * Records every hook invocation that passed authentication, with what was answered, in the audit store (CRD: "CRD
 * Servers SHALL retain logs of all CRD-related hook invocations and their responses for access in the event of a
 * dispute"). Refusals are recorded too: a 400's OperationOutcome says which field of the call was refused, which is
 * what an integrator needs to hear about (CRD: log "appropriate information" about a configuration it could not
 * honour). What the service read from the EHR's FHIR server for the call (when it was not prefetched) is kept with it,
 * as it was read: the call's answer rests on it. The FHIR access token the EHR lends is never stored.
 *
 * The record is handed to the audit writer once the connection closes, after the answer went out, so the caller does
 * not wait for it; the writer compresses and stores it off the request thread. A failed write is logged and does not
 * change the answer already given.
 */
import type { NextFunction, Request, Response } from 'express';
import { readsText } from '../fhir/fhir-reads.js';
import type { FhirReads } from '../fhir/fhir-reads.js';
import { asJsonObject, isJsonObject } from '../fhir/json.js';
import type { JsonObject } from '../fhir/json.js';
import { accessOf } from '../security/authenticate.js';
import type { AuditWriter } from './audit-writer.js';
import { optional } from './optional.js';

/** What recording needs. */
export interface RecordOptions {
  /** Where records go. */
  readonly writer: AuditWriter;
  readonly clock: () => Date;
  /** The rule packs that answered the call (`id@version`, comma-separated, with the deployment's thresholds: reload/current-rules.ts). */
  readonly packs: (res: Response) => string;
}

/** Longest identifier kept from a body (hook, hookInstance, patientId); a longer one is cut. */
const MAX_ID = 200;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value.slice(0, MAX_ID) : undefined;
}

const SECRETS = ['access_token', 'refresh_token', 'id_token'];

/**
 * A hook request body without the secrets it may carry: `fhirAuthorization.access_token` (and a refresh or id
 * token, which the spec does not send but a sloppy client might) become `[removed]`. The rest is kept as received.
 * @param body - the parsed request body.
 * @returns the body to store.
 */
export function withoutTokens(body: unknown): unknown {
  const auth = isJsonObject(body) ? asJsonObject(body['fhirAuthorization']) : undefined;
  if (auth === undefined) return body;
  const kept: JsonObject = { ...auth };
  for (const secret of SECRETS) {
    if (secret in kept) kept[secret] = '[removed]';
  }
  return { ...(body as JsonObject), fhirAuthorization: kept };
}

/**
 * Whether bytes may hold a key that decodes to one of SECRETS: written out, it contains `_token`; any other spelling
 * needs a `\u` escape (JSON has no other escape for a letter or `_`). Checked on the bytes, not the parsed body,
 * because a duplicate key is dropped by the parser and stays in the bytes.
 */
function mayHoldToken(raw: Buffer): boolean {
  return raw.includes('_token') || raw.includes('\\u');
}

/**
 * The request body to keep, as JSON text: the bytes as received when they cannot hold a token and are UTF-8
 * (nothing to serialize: a 10,000-resource record is megabytes), else the parsed body without its tokens,
 * serialized.
 * @param req - the request, its body parsed.
 * @param raw - the bytes as received, when the body parser kept them.
 * @returns the text, or undefined when no body was read.
 */
export function requestText(req: Request, raw: Buffer | undefined): string | Uint8Array | undefined {
  const body: unknown = req.body;
  if (body === undefined) return undefined;
  const charset = /charset=([^;]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.trim().toLowerCase();
  const utf8 = charset === undefined || charset === 'utf-8' || charset === 'utf8';
  if (raw !== undefined && utf8 && !mayHoldToken(raw)) return raw;
  return JSON.stringify(withoutTokens(body));
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function field(body: unknown, ...path: string[]): string | undefined {
  let node = body;
  for (const key of path) node = asJsonObject(node)?.[key];
  return text(node);
}

/** A call as it stood when its connection closed: whether an answer went out, which, and after how long. */
interface AtClose {
  readonly status: number | null;
  readonly ms: number;
  readonly delivered: boolean;
  readonly response: string | undefined;
}

/**
 * Builds the middleware, placed on `/cds-services` after authentication and before the body is read. It records
 * POSTs to a service (`/{id}`), not discovery or feedback.
 * @param options - the audit writer, the clock and the packs' versions.
 * @returns the middleware.
 */
export function recordInvocations(options: RecordOptions) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const serviceId = /^\/([^/]+)\/?$/.exec(req.path)?.[1];
    if (req.method !== 'POST' || serviceId === undefined) {
      next();
      return;
    }
    const receivedAt = options.clock();
    const started = process.hrtime.bigint();
    let sent: string | undefined;
    const send = res.send.bind(res);
    // res.json and the error handler both end in res.send with the body as text.
    res.send = (body?: unknown) => {
      if (typeof body === 'string') sent = body;
      else if (Buffer.isBuffer(body)) sent = body.toString('utf8');
      return send(body);
    };
    const record = (at: AtClose): void => {
      const access = res.locals['access'] === undefined ? undefined : accessOf(res);
      const body: unknown = req.body;
      const request = requestText(req, res.locals['rawBody'] as Buffer | undefined);
      options.writer.record({
        receivedAt,
        requestId: res.locals['requestId'] as string,
        serviceId: decoded(serviceId).slice(0, MAX_ID),
        ...optional('hook', field(body, 'hook')),
        ...optional('hookInstance', field(body, 'hookInstance')),
        ...optional('patientId', field(body, 'context', 'patientId')),
        client: access?.kind === 'client' ? access.client.iss : 'unauthenticated',
        status: at.status,
        ms: at.ms,
        packs: options.packs(res),
        delivered: at.delivered,
        ...optional('request', request),
        ...optional('response', at.response),
        ...optional('fetched', readsText(field(body, 'fhirServer'), (res.locals['fhirReads'] as FhirReads | undefined) ?? [])),
      });
    };
    res.on('close', () => {
      const at: AtClose = {
        status: res.headersSent ? res.statusCode : null,
        ms: Math.round((Number(process.hrtime.bigint() - started) / 1e6) * 100) / 100,
        delivered: res.writableFinished,
        response: sent,
      };
      // A caller that left before the answer: the record says so (no status, no answer), and it is made a turn later,
      // so that it names the reads the caller's leaving stopped (noted as their promises settle).
      if (at.delivered) record(at);
      else setImmediate(() => record(at));
    });
    next();
  };
}
