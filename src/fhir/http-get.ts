/**
 * One GET to a FHIR server over node:http or node:https, for the FHIR client: connections kept open between calls,
 * no redirects followed, the whole call bounded by the request's deadline and its own timeout, gzip and deflate
 * bodies decoded (UTF-8, a byte-order mark dropped), and the body bounded in bytes after decoding (a small
 * compressed body cannot grow without end).
 * It replaced fetch, which cost 1.5-2 times the CPU per call (WHATWG streams and signals); a hook without prefetch
 * makes seven such calls.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';

/** Why a GET failed, before any FHIR meaning: the FHIR client turns each into its own error. */
export type GetFailure =
  | { readonly kind: 'deadline' }
  | { readonly kind: 'caller-gone' }
  | { readonly kind: 'call-timeout'; readonly ms: number }
  | { readonly kind: 'unreachable'; readonly cause: string }
  | { readonly kind: 'redirect'; readonly status: number }
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'too-large' }
  | { readonly kind: 'unreadable'; readonly cause: string };

/** A GET that did not bring back a body. */
export class GetError extends Error {
  constructor(readonly failure: GetFailure) {
    super(failure.kind);
    this.name = 'GetError';
  }
}

/**
 * The reason to abort a request's deadline signal with when the caller of the hook has closed its connection: calls
 * then fail as `caller-gone` rather than `deadline`.
 */
export const CALLER_GONE = 'caller-gone';

/** Why the deadline signal was aborted, as a failure. */
const abortFailure = (deadline: AbortSignal): GetFailure => (deadline.reason === CALLER_GONE ? { kind: 'caller-gone' } : { kind: 'deadline' });

/** What one GET may use. */
export interface GetOptions {
  readonly headers: Readonly<Record<string, string>>;
  /** The request's deadline: aborts every call of the request (with CALLER_GONE as its reason when the caller left). */
  readonly deadline: AbortSignal;
  /** This call's own timeout. */
  readonly timeoutMs: number;
  /** Largest body accepted, in bytes after decoding. */
  readonly maxBytes: number;
}

/**
 * An outbound proxy as Node's own fetch and global agents take it: with NODE_USE_ENV_PROXY=1, from HTTP_PROXY,
 * HTTPS_PROXY and NO_PROXY (fetch, which this replaced, honoured them the same way).
 */
const PROXY_ENV = process.env['NODE_USE_ENV_PROXY'] === '1' ? { proxyEnv: process.env } : {};
/**
 * How long a kept-open connection may wait unused before the service closes it. Without a limit, a server that
 * never closes idle connections would keep them open as long as the process runs. 4 s is below the 5 s keep-alive
 * of Node and Apache servers, so the service usually closes first; when the server does, the one retry below covers
 * it. The agent's timeout closes only unused connections: a call in progress is bounded by its own timeout.
 */
export const IDLE_CONNECTION_MS = 4000;
const KEEP_ALIVE = { keepAlive: true, timeout: IDLE_CONNECTION_MS, ...PROXY_ENV };
const AGENTS = { 'http:': new HttpAgent(KEEP_ALIVE), 'https:': new HttpsAgent(KEEP_ALIVE) } as const;

function decoded(res: IncomingMessage): Readable | undefined {
  const encoding = (res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return res;
  if (encoding === 'gzip' || encoding === 'x-gzip') return res.pipe(createGunzip());
  if (encoding === 'deflate') return res.pipe(createInflate());
  return undefined;
}

/**
 * GETs a URL and resolves with its body as text when the status is 200.
 * @param url - absolute http or https URL.
 * @param options - headers, deadline, call timeout and size bound.
 * @returns the body.
 * @throws GetError saying what failed.
 */
export function getText(url: string, options: GetOptions): Promise<string> {
  return attempt(url, options, false);
}

function attempt(url: string, options: GetOptions, retry: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      reject(new GetError({ kind: 'unreachable', cause: 'not a URL' }));
      return;
    }
    const protocol = target.protocol;
    if (protocol !== 'http:' && protocol !== 'https:') {
      reject(new GetError({ kind: 'unreachable', cause: `${protocol} is not http or https` }));
      return;
    }
    if (options.deadline.aborted) {
      reject(new GetError(abortFailure(options.deadline)));
      return;
    }
    const accept = { ...options.headers, 'Accept-Encoding': 'gzip, deflate', 'User-Agent': 'intrathecal-cds' };
    const req: ClientRequest = (protocol === 'https:' ? httpsRequest : httpRequest)(target, { agent: AGENTS[protocol], headers: accept });
    // Settles once: the first of an answer, a failure, the deadline or the call timeout wins.
    let done = false;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      options.deadline.removeEventListener('abort', onDeadline);
      return true;
    };
    const fail = (failure: GetFailure): void => {
      if (!finish()) return;
      req.destroy();
      reject(new GetError(failure));
    };
    // A promise given to resolve is adopted: a retry's outcome becomes this call's.
    const succeed = (result: string | Promise<string>): void => {
      if (finish()) resolve(result);
    };
    const onDeadline = (): void => fail(abortFailure(options.deadline));
    const timer = setTimeout(() => fail({ kind: 'call-timeout', ms: options.timeoutMs }), options.timeoutMs);
    options.deadline.addEventListener('abort', onDeadline, { once: true });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // Settled already (the deadline, the call timeout): destroying the request reports the connection reset, which
      // is not the server's doing, and a resend made now would be rejected with nobody to hear it.
      if (done) return;
      // A kept-open connection the server closed just as it was reused: a GET may be sent again, once, on a new one.
      if (!retry && req.reusedSocket && err.code === 'ECONNRESET') succeed(attempt(url, options, true));
      else fail({ kind: 'unreachable', cause: err.code ?? err.name });
    });
    const read = (res: IncomingMessage, body: Readable): void => {
      const chunks: Buffer[] = [];
      let bytes = 0;
      const unreadable = (err: Error): void => fail({ kind: 'unreadable', cause: err.message });
      res.on('error', unreadable);
      if (body !== res) body.on('error', unreadable);
      body.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes <= options.maxBytes) chunks.push(chunk);
        else {
          fail({ kind: 'too-large' });
          body.destroy();
        }
      });
      // A byte-order mark is dropped, as fetch's decoder did: some servers send one, and JSON.parse refuses it.
      body.on('end', () => succeed(Buffer.concat(chunks, bytes).toString('utf8').replace(/^\uFEFF/, '')));
    };
    req.on('response', (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) fail({ kind: 'redirect', status });
      else if (status !== 200) fail({ kind: 'status', status });
      else if (Number(res.headers['content-length'] ?? '0') > options.maxBytes) fail({ kind: 'too-large' });
      else {
        const body = decoded(res);
        if (body) read(res, body);
        else fail({ kind: 'unreadable', cause: `content encoding ${String(res.headers['content-encoding'])}` });
      }
    });
    req.end();
  });
}
