import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { isSafeUpstreamUrl, type IdentityProvider } from './config.ts';
import { FederationError } from './errors.ts';

/** What federation needs from an upstream's OpenID Provider Metadata (OIDC Discovery 1.0 §3). */
export type UpstreamMetadata = {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  /** OIDC Discovery §3: REQUIRED; RS256 when an IdP leaves it out anyway. */
  idTokenAlgorithms: string[];
  /** Absent means `client_secret_basic` (OIDC Discovery §3). */
  tokenEndpointAuthMethods: string[] | undefined;
};

const endpoint = z.url().refine(isSafeUpstreamUrl, 'must be https');
const metadataSchema = z.object({
  issuer: z.string(),
  authorization_endpoint: endpoint,
  token_endpoint: endpoint,
  jwks_uri: endpoint,
  id_token_signing_alg_values_supported: z.array(z.string()).optional(),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
});

/** How long a discovery document is reused per isolate; a failed fetch is not cached. */
const TTL_MS = 60 * 60 * 1000;
const TIMEOUT_MS = 5000;

const documents = new Map<string, { metadata: UpstreamMetadata; expiresAt: number }>();
const keySets = new Map<string, JWTVerifyGetKey>();

/** OIDC Discovery §4: the issuer without a trailing slash, then the well-known path. */
export const discoveryUrl = (issuer: string): string => `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;

async function load(provider: IdentityProvider): Promise<UpstreamMetadata> {
  let res: Response;
  try {
    res = await fetch(discoveryUrl(provider.issuer), { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw new FederationError('upstream_unavailable', `discovery fetch failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!res.ok) throw new FederationError(res.status >= 500 ? 'upstream_unavailable' : 'misconfigured', `discovery answered HTTP ${res.status}`);
  const body: unknown = await res.json().catch(() => undefined);
  const doc = metadataSchema.safeParse(body);
  if (!doc.success) throw new FederationError('misconfigured', `discovery document is unusable: ${doc.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  // OIDC Discovery §4.3: the document must name exactly the issuer it was fetched for.
  if (doc.data.issuer !== provider.issuer) throw new FederationError('misconfigured', `discovery names issuer ${doc.data.issuer}, not ${provider.issuer}`);
  return {
    issuer: doc.data.issuer,
    authorizationEndpoint: doc.data.authorization_endpoint,
    tokenEndpoint: doc.data.token_endpoint,
    jwksUri: doc.data.jwks_uri,
    idTokenAlgorithms: doc.data.id_token_signing_alg_values_supported ?? ['RS256'],
    tokenEndpointAuthMethods: doc.data.token_endpoint_auth_methods_supported,
  };
}

/** The provider's metadata, fetched once per hour per isolate; throws FederationError when it cannot be had. */
export async function upstreamMetadata(provider: IdentityProvider, now = Date.now()): Promise<UpstreamMetadata> {
  const cached = documents.get(provider.issuer);
  if (cached && cached.expiresAt > now) return cached.metadata;
  const metadata = await load(provider);
  documents.set(provider.issuer, { metadata, expiresAt: now + TTL_MS });
  return metadata;
}

/** jose's remote key set for a `jwks_uri`, one per isolate so its cache and cooldown are shared by all requests. */
export function upstreamKeys(jwksUri: string): JWTVerifyGetKey {
  let keys = keySets.get(jwksUri);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: TIMEOUT_MS, cooldownDuration: 30_000, cacheMaxAge: TTL_MS });
    keySets.set(jwksUri, keys);
  }
  return keys;
}
