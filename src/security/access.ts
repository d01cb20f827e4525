/**
 * Who is calling, as established by authentication, and what that allows: which FHIR servers the service may
 * contact with the request's token, and the key the rate limit counts against.
 */
import type { TrustedClient } from './clients.js';

/** The caller of one request. */
export type Access =
  | { readonly kind: 'client'; readonly client: TrustedClient }
  /** Development only: no (valid) JWT, served because ALLOW_UNAUTHENTICATED is on. */
  | { readonly kind: 'unauthenticated'; readonly address: string };

/**
 * Whether a fhirServer is one of the allowed base URLs: same origin, and a path equal to or below the allowed one
 * (on a segment boundary, so /fhir does not allow /fhir-other).
 * @param fhirServer - the request's fhirServer.
 * @param allowed - allowed base URLs.
 * @returns true when allowed.
 */
export function matchesAllowed(fhirServer: string, allowed: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(fhirServer);
  } catch {
    return false;
  }
  const path = url.pathname.replace(/\/+$/, '');
  return allowed.some((a) => {
    const base = new URL(a);
    const basePath = base.pathname.replace(/\/+$/, '');
    return base.origin === url.origin && (path === basePath || path.startsWith(`${basePath}/`)) && url.search === '' && url.username === '' && url.password === '';
  });
}

/**
 * The FHIR-server policy for one caller: a client's allow-list (https only in production); in development,
 * unauthenticated callers may name any http(s) server.
 * @param access - the caller.
 * @param production - whether production rules apply.
 * @returns a predicate on the request's fhirServer.
 */
export function fhirServerPolicy(access: Access, production: boolean): (fhirServer: string) => boolean {
  return (fhirServer) => {
    if (production && !fhirServer.startsWith('https://')) return false;
    if (access.kind === 'unauthenticated') return !production;
    return matchesAllowed(fhirServer, access.client.fhirServers);
  };
}

/**
 * The key a rate limit counts against: the client's issuer, or the caller's address.
 * @param access - the caller.
 * @returns the key.
 */
export function rateKey(access: Access): string {
  return access.kind === 'client' ? `iss:${access.client.iss}` : `addr:${access.address}`;
}
