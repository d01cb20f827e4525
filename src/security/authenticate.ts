/**
 * Authentication of hook and feedback calls. Production: a valid client JWT or 401 (generic body, reason in the
 * log). Development with ALLOW_UNAUTHENTICATED: calls without a valid JWT are served and logged as such, so the
 * sandbox works offline; a valid JWT is still honoured, with its client's FHIR-server allow-list.
 */
import type { NextFunction, Request, Response } from 'express';
import { unauthorized } from '../http/outcomes.js';
import type { Logger } from '../log.js';
import type { ReplayStore } from '../store/replay-store.js';
import type { Access } from './access.js';
import type { TrustedClient } from './clients.js';
import { AuthFailure, verifyClientJwt } from './verify-jwt.js';

/** What authentication needs. */
export interface AuthOptions {
  readonly clients: ReadonlyMap<string, TrustedClient>;
  readonly replay: ReplayStore;
  readonly publicBaseUrl: string;
  readonly allowUnauthenticated: boolean;
  readonly clockSkewS: number;
  readonly maxAgeS: number;
  readonly log: Logger;
  readonly clock: () => Date;
}

/**
 * The bearer token of a request's Authorization header.
 * @param req - the request.
 * @returns the token, or undefined when there is no bearer token.
 */
export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

/**
 * The caller of a request, once authenticated.
 * @param res - the response (authentication stores the caller in its locals).
 * @returns the caller.
 */
export function accessOf(res: Response): Access {
  return res.locals['access'] as Access;
}

/**
 * Builds the authentication middleware for POST hook and feedback calls.
 * @param options - clients, replay store, base URL, development switch, log.
 * @returns the middleware.
 */
export function authenticate(options: AuthOptions) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const requestId = res.locals['requestId'] as string;
    const token = bearerToken(req);
    const unauthenticated = (reason: string): void => {
      if (!options.allowUnauthenticated) {
        options.log.warn({ requestId, reason }, 'authentication refused');
        throw unauthorized();
      }
      options.log.warn({ requestId, reason }, 'unauthenticated call served (development only, ALLOW_UNAUTHENTICATED)');
      res.locals['access'] = { kind: 'unauthenticated', address: req.ip ?? 'unknown' } satisfies Access;
    };
    if (!token) {
      unauthenticated(req.headers.authorization ? 'Authorization header is not a bearer token' : 'no Authorization header');
      next();
      return;
    }
    try {
      const client = await verifyClientJwt(token, {
        clients: options.clients,
        replay: options.replay,
        audience: `${options.publicBaseUrl}${req.originalUrl.split('?')[0] ?? ''}`,
        clockSkewS: options.clockSkewS,
        maxAgeS: options.maxAgeS,
        now: Math.floor(options.clock().getTime() / 1000),
      });
      res.locals['access'] = { kind: 'client', client } satisfies Access;
      res.locals['clientIss'] = client.iss;
    } catch (err) {
      if (!(err instanceof AuthFailure)) throw err;
      unauthenticated(err.message);
    }
    next();
  };
}
