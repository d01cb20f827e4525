/**
 * Trusted CDS clients, from the JSON file named by CDS_CLIENTS_FILE: who may call, how their JWTs are verified
 * (a pinned inline JWKS, or JWKS URLs on an allow-list), which FHIR servers the service may contact for them, and
 * which signature algorithms they use.
 */
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet } from 'jose';
import type { JSONWebKeySet, JWTVerifyGetKey } from 'jose';
import { ConfigError } from '../config.js';

/** Algorithms CDS Hooks recommends; RS256 only where a client's entry allows it; never none or HMAC. */
export const DEFAULT_ALGORITHMS = ['ES384', 'RS384'] as const;
const PERMITTED = new Set(['ES384', 'RS384', 'RS256', 'ES256', 'ES512', 'RS512', 'PS384', 'PS256', 'PS512', 'EdDSA']);

/** The CDS Hooks sandbox, trusted in development only (its private key is public). */
export const SANDBOX_ISSUER = 'https://sandbox.cds-hooks.org';
const SANDBOX_JWKS = 'https://sandbox.cds-hooks.org/.well-known/jwks.json';

/** One trusted client, ready to verify with. */
export interface TrustedClient {
  readonly iss: string;
  readonly algorithms: readonly string[];
  /** JWKS URLs a `jku` header may name (the first is used without `jku`). */
  readonly jwksUrls: readonly string[];
  /** Allowed FHIR base URLs. */
  readonly fhirServers: readonly string[];
  /** The key set for a JWT's `jku` (undefined: not on the allow-list). */
  keysFor(jku: string | undefined): JWTVerifyGetKey | undefined;
}

interface RawClient {
  iss?: unknown;
  jwks?: unknown;
  jwksUrl?: unknown;
  fhirServers?: unknown;
  algorithms?: unknown;
}

const remoteSets = new Map<string, JWTVerifyGetKey>();

function remote(url: string): JWTVerifyGetKey {
  let set = remoteSets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { timeoutDuration: 2000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
    remoteSets.set(url, set);
  }
  return set;
}

function strings(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
}

function httpUrl(value: string, where: string, production: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${where}: "${value}" is not a URL`);
  }
  if (url.protocol !== 'https:' && (production || url.protocol !== 'http:')) throw new ConfigError(`${where}: "${value}" must be https${production ? ' in production' : ''}`);
  return value.replace(/\/+$/, '');
}

/**
 * Builds a trusted client from its entry.
 * @param raw - the entry as written.
 * @param where - file and index, for messages.
 * @param production - whether https is required.
 * @returns the client.
 * @throws ConfigError naming the entry and the field.
 */
export function trustedClient(raw: RawClient, where: string, production: boolean): TrustedClient {
  if (typeof raw.iss !== 'string' || raw.iss === '') throw new ConfigError(`${where}: iss is required`);
  const jwksUrls = raw.jwksUrl === undefined ? [] : strings(raw.jwksUrl);
  if (!jwksUrls) throw new ConfigError(`${where}: jwksUrl must be a URL or a list of URLs`);
  const urls = jwksUrls.map((u) => httpUrl(u, `${where}.jwksUrl`, production));
  const jwks = raw.jwks as JSONWebKeySet | undefined;
  if (jwks !== undefined && !(typeof jwks === 'object' && Array.isArray(jwks.keys))) throw new ConfigError(`${where}: jwks must be a JWK Set ({"keys": [...]})`);
  if (!jwks && urls.length === 0) throw new ConfigError(`${where}: give jwks (inline keys) or jwksUrl`);
  const fhirServers = strings(raw.fhirServers);
  if (!fhirServers) throw new ConfigError(`${where}: fhirServers must be a list of FHIR base URLs (it may be empty)`);
  const algorithms = raw.algorithms === undefined ? [...DEFAULT_ALGORITHMS] : strings(raw.algorithms);
  if (!algorithms || algorithms.length === 0 || algorithms.some((a) => !PERMITTED.has(a))) {
    throw new ConfigError(`${where}: algorithms must be asymmetric JWS algorithms such as ES384, RS384 (RS256 when the client needs it)`);
  }
  const local = jwks ? createLocalJWKSet(jwks) : undefined;
  return {
    iss: raw.iss,
    algorithms,
    jwksUrls: urls,
    fhirServers: fhirServers.map((u) => httpUrl(u, `${where}.fhirServers`, production)),
    keysFor(jku) {
      if (jku !== undefined) return urls.includes(jku.replace(/\/+$/, '')) ? remote(jku) : undefined;
      return local ?? (urls[0] ? remote(urls[0]) : undefined);
    },
  };
}

/**
 * Reads the trusted clients.
 * @param file - CDS_CLIENTS_FILE, or undefined (development without clients).
 * @param options - whether production rules apply, and whether to add the sandbox (development only).
 * @returns the clients by issuer.
 * @throws ConfigError naming the file and entry.
 */
export function loadTrustedClients(file: string | undefined, options: { production: boolean; trustSandbox: boolean }): ReadonlyMap<string, TrustedClient> {
  const clients = new Map<string, TrustedClient>();
  if (file) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`CDS_CLIENTS_FILE ${file}: cannot be read as JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(raw)) throw new ConfigError(`CDS_CLIENTS_FILE ${file}: must be a JSON array of clients`);
    raw.forEach((entry: unknown, i) => {
      const client = trustedClient(entry ?? {}, `${file}[${i}]`, options.production);
      if (clients.has(client.iss)) throw new ConfigError(`${file}[${i}]: issuer ${client.iss} is listed twice`);
      clients.set(client.iss, client);
    });
  }
  if (options.trustSandbox && !options.production && !clients.has(SANDBOX_ISSUER)) {
    clients.set(SANDBOX_ISSUER, trustedClient({ iss: SANDBOX_ISSUER, jwksUrl: SANDBOX_JWKS, fhirServers: [] }, 'built-in sandbox client', false));
  }
  return clients;
}
