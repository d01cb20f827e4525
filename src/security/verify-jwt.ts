/**
 * Verifies the bearer JWT of a CDS client (CDS Hooks 2.0 "Trusting CDS Clients"): issuer on the trusted list,
 * `kid` present, algorithm allowed for that client, signature from its pinned JWKS (a `jku` only when on its
 * allow-list), `aud` equal to the URL called, `exp` / `iat` within the clock skew, a bounded lifetime, and a `jti`
 * never seen before. Failures carry a reason for the server log; the client only ever learns "401".
 */
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { Refusal } from '../http/refusal.js';
import type { ReplayStore } from '../store/replay-store.js';
import type { TrustedClient } from './clients.js';

/** Why a JWT was refused (for the log; never sent to the client). A Refusal: it captures no stack. */
export class AuthFailure extends Refusal {}

/** What verification needs. */
export interface VerifyOptions {
  readonly clients: ReadonlyMap<string, TrustedClient>;
  readonly replay: ReplayStore;
  /** The URL the client called, as it would see it (public base URL + path). */
  readonly audience: string;
  readonly clockSkewS: number;
  readonly maxAgeS: number;
  /** Current time, seconds since the epoch. */
  readonly now: number;
}

/**
 * Verifies a token.
 * @param token - the compact JWT from the Authorization header.
 * @param options - clients, replay store, expected audience, time limits.
 * @returns the trusted client the token comes from.
 * @throws AuthFailure with the reason.
 */
export async function verifyClientJwt(token: string, options: VerifyOptions): Promise<TrustedClient> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let iss: unknown;
  try {
    header = decodeProtectedHeader(token);
    iss = decodeJwt(token).iss;
  } catch {
    throw new AuthFailure('not a well-formed JWT');
  }
  if (typeof iss !== 'string') throw new AuthFailure('no iss claim');
  const client = options.clients.get(iss);
  if (!client) throw new AuthFailure(`issuer ${iss} is not a trusted client`);
  if (typeof header.kid !== 'string' || header.kid === '') throw new AuthFailure('no kid in the JWT header');
  if (!header.alg || !client.algorithms.includes(header.alg)) throw new AuthFailure(`algorithm ${String(header.alg)} is not allowed for ${iss}`);
  const keys = client.keysFor(header.jku);
  if (!keys) throw new AuthFailure(`jku ${String(header.jku)} is not on the allow-list of ${iss}`);
  let payload;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      issuer: iss,
      audience: options.audience,
      algorithms: [...client.algorithms],
      clockTolerance: options.clockSkewS,
      maxTokenAge: options.maxAgeS + options.clockSkewS,
      currentDate: new Date(options.now * 1000),
      requiredClaims: ['iss', 'aud', 'exp', 'iat', 'jti'],
    }));
  } catch (err) {
    const code = err instanceof errors.JOSEError ? err.code : 'ERR_UNKNOWN';
    throw new AuthFailure(`JWT from ${iss} refused: ${code} ${(err as Error).message}`);
  }
  const { exp, iat, jti } = payload as { exp: number; iat: number; jti: unknown };
  if (iat > options.now + options.clockSkewS) throw new AuthFailure(`JWT from ${iss} issued in the future`);
  if (exp - iat > options.maxAgeS) throw new AuthFailure(`JWT from ${iss} lives ${exp - iat} s, more than ${options.maxAgeS} s`);
  if (typeof jti !== 'string' || jti === '') throw new AuthFailure(`JWT from ${iss} has no jti`);
  if (!(await options.replay.claim(iss, jti, exp, options.now))) throw new AuthFailure(`JWT from ${iss} replayed (jti seen before)`);
  return client;
}
