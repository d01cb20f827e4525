/**
 * The embedded EHR's authorization server: oidc-provider (a maintained OAuth 2 / OpenID Connect library) set up
 * for SMART App Launch: a public client with PKCE S256 required, SMART scopes, `launch` as an extra authorization
 * parameter, and the launch context (`patient`, `appContext`, `need_patient_banner`) added to the token response.
 * Development and tests only: it signs everybody in as the fixture practitioner.
 */
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import type { LaunchContexts } from './launch-contexts.js';
import { providerMemoryStore } from './provider-store.js';
import { SUPPORTED_SCOPES } from './smart-scopes.js';

/** The SMART app's client id at the embedded EHR. */
export const APP_CLIENT_ID = 'intrathecal-app';

/** What the authorization server needs. */
export interface AuthorizationServerOptions {
  /** Issuer URL (public base URL + /oidc). */
  readonly issuer: string;
  /** The app's redirect URIs. */
  readonly redirectUris: readonly string[];
  /** The FHIR base URL, for fhirUser claims. */
  readonly fhirBase: string;
  /** Access token lifetime in seconds. */
  readonly accessTokenTtlS: number;
  readonly contexts: LaunchContexts;
  /** Where the login/consent page lives, given an interaction uid. */
  readonly interactionUrl: (uid: string) => string;
}

/**
 * Creates the authorization server.
 * @param options - issuer, client redirect URIs, FHIR base, token lifetime, launch contexts.
 * @returns the oidc-provider instance (mount `provider.callback()` at /oidc).
 */
export async function createAuthorizationServer(options: AuthorizationServerOptions): Promise<Provider> {
  // ES256: generated in a millisecond, where an RSA key costs a noticeable part of the cold start.
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'embedded-ehr-1' };
  const provider = new Provider(options.issuer, {
    adapter: providerMemoryStore(),
    clients: [
      {
        client_id: APP_CLIENT_ID,
        client_name: 'Intrathecal therapy review (SMART app)',
        token_endpoint_auth_method: 'none',
        redirect_uris: [...options.redirectUris],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [signingKey] },
    pkce: { required: () => true },
    scopes: SUPPORTED_SCOPES,
    claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
    conformIdTokenClaims: false,
    extraParams: ['launch', 'aud'],
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, fhirUser: `${options.fhirBase}/Practitioner/${id}` }) }),
    interactions: { url: (_ctx, interaction) => options.interactionUrl(interaction.uid) },
    features: { devInteractions: { enabled: false } },
    clientBasedCORS: () => true,
    ttl: { AccessToken: options.accessTokenTtlS, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600 },
    cookies: { keys: [signingKey.kid + Math.random().toString(36)] },
  });
  // The token response carries the SMART launch context the grant was given.
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as Record<string, unknown> | undefined;
    if (ctx.path !== '/token' || ctx.status !== 200 || typeof body?.['access_token'] !== 'string') return;
    const token = await provider.AccessToken.find(body['access_token']);
    const context = options.contexts.grant(token?.grantId);
    if (context?.patient) {
      body['patient'] = context.patient;
      body['need_patient_banner'] = true;
    }
    if (context?.appContext) body['appContext'] = context.appContext;
  });
  return provider;
}

/**
 * The SMART configuration document of the embedded FHIR server (`{fhir}/.well-known/smart-configuration`).
 * @param issuer - the authorization server's issuer.
 * @returns the document.
 */
export function smartConfiguration(issuer: string): Record<string, unknown> {
  return {
    issuer,
    jwks_uri: `${issuer}/jwks`,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    userinfo_endpoint: `${issuer}/me`,
    grant_types_supported: ['authorization_code'],
    response_types_supported: ['code'],
    token_endpoint_auth_methods_supported: ['none'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: SUPPORTED_SCOPES,
    capabilities: [
      'launch-ehr',
      'launch-standalone',
      'client-public',
      'context-ehr-patient',
      'context-standalone-patient',
      'permission-patient',
      'permission-v1',
      'permission-v2',
      'sso-openid-connect',
      'authorize-post',
    ],
  };
}
