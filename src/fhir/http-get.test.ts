/**
 * The FHIR client's GET against real node:http servers on loopback: kept-open connections and their idle limit,
 * compressed bodies and their bound after decoding, a connection the server closed as it was reused, and the two
 * timeouts.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { CALLER_GONE, GetError, getText, IDLE_CONNECTION_MS } from './http-get.js';
import type { GetOptions } from './http-get.js';

interface TestServer {
  readonly url: string;
  /** Connections opened and requests received so far. */
  readonly seen: { connections: number; requests: number };
  /** Milliseconds after its start at which each connection closed. */
  readonly closed: number[];
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<TestServer> {
  const seen = { connections: 0, requests: 0 };
  const closed: number[] = [];
  const s = createServer((req, res) => handler(req, res, ++seen.requests));
  s.on('connection', (socket) => {
    seen.connections++;
    const opened = Date.now();
    socket.on('close', () => closed.push(Date.now() - opened));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  server = s;
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/fhir/Patient/x`, seen, closed };
}

const options = (overrides: Partial<GetOptions> = {}): GetOptions => ({
  headers: { Accept: 'application/fhir+json' },
  deadline: new AbortController().signal,
  timeoutMs: 2000,
  maxBytes: 1024 * 1024,
  ...overrides,
});

async function failure(promise: Promise<string>): Promise<string> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e
  );
  if (!(err instanceof GetError)) throw new Error(`expected a GetError, got ${String(err)}`);
  return err.failure.kind;
}

const PATIENT = JSON.stringify({ resourceType: 'Patient', id: 'x', name: [{ text: 'Ünïcode name' }] });

describe('getText', () => {
  it('keeps the connection open between calls', async () => {
    const fhir = await serve((_req, res) => res.end(PATIENT));
    for (let i = 0; i < 3; i++) expect(await getText(fhir.url, options())).toBe(PATIENT);
    expect(fhir.seen).toEqual({ connections: 1, requests: 3 });
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
  ])('asks for compression and decodes a %s body', async (encoding, compress) => {
    let asked: string | undefined;
    const fhir = await serve((req, res) => {
      asked = req.headers['accept-encoding'];
      res.setHeader('Content-Encoding', encoding);
      res.end(compress(Buffer.from(PATIENT)));
    });
    expect(await getText(fhir.url, options())).toBe(PATIENT);
    expect(asked).toBe('gzip, deflate');
  });

  it('closes a kept-open connection left unused, even when the server would keep it open for ever', async () => {
    // The slow answer shows that the idle limit does not cut short a call in progress: that has its own timeout.
    const fhir = await serve((req, res) => {
      if (!req.url?.endsWith('?slow')) res.end(PATIENT);
      else {
        res.write(PATIENT.slice(0, 5));
        setTimeout(() => res.end(PATIENT.slice(5)), IDLE_CONNECTION_MS + 500);
      }
    });
    (server as Server).keepAliveTimeout = 0;
    const started = Date.now();
    const answers = await Promise.all([getText(fhir.url, options()), getText(`${fhir.url}?slow`, options({ timeoutMs: 3 * IDLE_CONNECTION_MS }))]);
    expect(answers).toEqual([PATIENT, PATIENT]);
    expect(Date.now() - started).toBeGreaterThan(IDLE_CONNECTION_MS);
    // The quick call's connection has by now waited unused for longer than the limit; the slow one's has just begun.
    await expect.poll(() => fhir.closed.length, { timeout: 2 * IDLE_CONNECTION_MS, interval: 50 }).toBe(1);
    expect(fhir.seen.connections).toBe(2);
    expect(fhir.closed[0]).toBeGreaterThanOrEqual(IDLE_CONNECTION_MS - 100);
  });

  it('drops a UTF-8 byte-order mark, as some servers send one', async () => {
    const fhir = await serve((_req, res) => res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(PATIENT)])));
    expect(await getText(fhir.url, options())).toBe(PATIENT);
  });

  it('bounds the body after decoding: a small compressed body that grows past the limit is refused', async () => {
    const bomb = gzipSync(Buffer.alloc(4 * 1024 * 1024, 0x20));
    const fhir = await serve((_req, res) => {
      res.setHeader('Content-Encoding', 'gzip');
      res.end(bomb);
    });
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(await failure(getText(fhir.url, options()))).toBe('too-large');
  });

  it('refuses a declared length over the limit without reading the body', async () => {
    const fhir = await serve((_req, res) => {
      res.setHeader('Content-Length', String(2 * 1024 * 1024));
      res.write('{');
    });
    expect(await failure(getText(fhir.url, options()))).toBe('too-large');
  });

  it('refuses an encoding it did not ask for', async () => {
    const fhir = await serve((_req, res) => {
      res.setHeader('Content-Encoding', 'br');
      res.end('not really brotli');
    });
    expect(await failure(getText(fhir.url, options()))).toBe('unreadable');
  });

  it('sends a GET again, once, when the server closed the kept-open connection as it was reused', async () => {
    // The second request arrives on the first connection, and the server drops it unanswered, as a server whose
    // idle timeout fired just then would; the retry goes out on a new connection.
    const fhir = await serve((req, res, n) => {
      if (n === 2) req.socket.destroy();
      else res.end(PATIENT);
    });
    expect(await getText(fhir.url, options())).toBe(PATIENT);
    expect(await getText(fhir.url, options())).toBe(PATIENT);
    expect(fhir.seen).toEqual({ connections: 2, requests: 3 });
  });

  it('does not send it a third time: a server that drops every request is unreachable', async () => {
    const fhir = await serve((req, res, n) => {
      if (n === 1) res.end(PATIENT);
      else req.socket.destroy();
    });
    expect(await getText(fhir.url, options())).toBe(PATIENT);
    expect(await failure(getText(fhir.url, options()))).toBe('unreachable');
    expect(fhir.seen.requests).toBe(3);
  });

  it('stops a call on a kept-open connection when the deadline passes, without sending it again', async () => {
    // Destroying the request makes node:http report the reused connection reset, the very error the one resend is
    // for: the call has already failed, and a resend (rejected at once, the deadline being past) must not be made,
    // nor left unhandled, which ended the process (found by npm run bench, a caller leaving mid-call).
    const fhir = await serve((_req, res, n) => {
      if (n === 1) res.end(PATIENT);
    });
    expect(await getText(fhir.url, options())).toBe(PATIENT);
    const deadline = new AbortController();
    const pending = getText(fhir.url, options({ deadline: deadline.signal }));
    await expect.poll(() => fhir.seen.requests).toBe(2);
    deadline.abort(CALLER_GONE);
    expect(await failure(pending)).toBe('caller-gone');
    // Nothing else was sent; a turn for an unhandled rejection to surface (vitest fails the run on one).
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fhir.seen.requests).toBe(2);
  });

  it('stops a call on a kept-open connection at its own timeout, without sending it again for nobody', async () => {
    const fhir = await serve((_req, res, n) => {
      if (n === 1) res.end(PATIENT);
    });
    expect(await getText(fhir.url, options())).toBe(PATIENT);
    expect(await failure(getText(fhir.url, options({ timeoutMs: 100 })))).toBe('call-timeout');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fhir.seen.requests).toBe(2);
  });

  it('tells its own timeout from the request deadline', async () => {
    const fhir = await serve(() => {
      /* never answers */
    });
    expect(await failure(getText(fhir.url, options({ timeoutMs: 100 })))).toBe('call-timeout');
    expect(await failure(getText(fhir.url, options({ deadline: AbortSignal.timeout(100) })))).toBe('deadline');
    const passed = new AbortController();
    passed.abort();
    expect(await failure(getText(fhir.url, options({ deadline: passed.signal })))).toBe('deadline');
  });

  it('does not follow a redirect, and reports any status other than 200', async () => {
    const fhir = await serve((_req, res, n) => {
      res.statusCode = n === 1 ? 302 : 404;
      res.setHeader('Location', 'http://127.0.0.1:9/elsewhere');
      res.end();
    });
    const first: unknown = await getText(fhir.url, options()).catch((e: unknown) => e);
    expect(first instanceof GetError && first.failure).toEqual({ kind: 'redirect', status: 302 });
    const second: unknown = await getText(fhir.url, options()).catch((e: unknown) => e);
    expect(second instanceof GetError && second.failure).toEqual({ kind: 'status', status: 404 });
  });

  it('reads only http and https URLs', async () => {
    expect(await failure(getText('file:///etc/passwd', options()))).toBe('unreachable');
    expect(await failure(getText('not a url', options()))).toBe('unreachable');
  });
});
