/**
 * Real keys and real signatures for client-authentication tests (jose), and a local JWKS server.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { JWK } from 'jose';
import { startFakeFhir } from './harness.js';

/** A test client's key pair. */
export interface TestKey {
  readonly alg: string;
  readonly kid: string;
  readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  readonly publicJwk: JWK;
}

/**
 * Generates a key pair.
 * @param alg - ES384, RS384, RS256...
 * @returns the key with its public JWK.
 */
export async function makeKey(alg: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  return { alg, kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** Claims and header choices for a token. */
export interface TokenOptions {
  readonly iss: string;
  readonly aud: string | string[];
  readonly jti?: string;
  readonly iat?: number;
  readonly exp?: number;
  readonly kid?: string | null;
  readonly jku?: string;
}

/**
 * Signs a client JWT.
 * @param key - the signing key.
 * @param options - claims and header.
 * @returns the compact JWT.
 */
export async function signToken(key: TestKey, options: TokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header: Record<string, string> = { alg: key.alg, typ: 'JWT' };
  if (options.kid !== null) header['kid'] = options.kid ?? key.kid;
  if (options.jku) header['jku'] = options.jku;
  return new SignJWT({ tenant: 'test' })
    .setProtectedHeader(header as { alg: string })
    .setIssuer(options.iss)
    .setAudience(options.aud)
    .setJti(options.jti ?? randomUUID())
    .setIssuedAt(options.iat ?? now)
    .setExpirationTime(options.exp ?? now + 120)
    .sign(key.privateKey);
}

/**
 * Serves a JWKS over loopback HTTP and records who fetched it.
 * @param keys - the public keys to serve.
 * @returns the URL and the requests seen.
 */
export async function serveJwks(keys: readonly TestKey[]): ReturnType<typeof startFakeFhir> {
  return startFakeFhir((_req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ keys: keys.map((k) => k.publicJwk) }));
  });
}
