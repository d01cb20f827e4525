/**
 * The service's HTTP server, with its limits on slow clients. Node checks those limits every
 * `connectionsCheckingInterval` (30 s by default), so a 10 s request timeout would otherwise end a stalled upload
 * anywhere between 10 and 40 s; checking every second keeps the configured time what it says.
 */
import { createServer } from 'node:http';
import type { RequestListener, Server } from 'node:http';

/**
 * Creates (does not start) the HTTP server.
 * @param handler - the application.
 * @param requestTimeoutMs - longest time to receive a whole request; headers get at most this, and at most 60 s.
 * @returns the server; a client too slow is answered 408 and disconnected.
 */
export function createHttpServer(handler: RequestListener, requestTimeoutMs: number): Server {
  return createServer(
    { requestTimeout: requestTimeoutMs, headersTimeout: Math.min(requestTimeoutMs, 60_000), connectionsCheckingInterval: Math.min(1000, requestTimeoutMs) },
    handler
  );
}
