import { z } from 'zod';
import type { IdentityProvider } from './config.ts';
import type { UpstreamMetadata } from './discovery.ts';
import { FederationError } from './errors.ts';

const TIMEOUT_MS = 10_000;

/** RFC 6749 §5.1 as far as federation reads it: OIDC Core §3.1.3.3 makes `id_token` required. */
const tokenResponse = z.object({ id_token: z.string().min(1).max(16_384), token_type: z.string().optional() });

/** How to authenticate at the token endpoint: configured, or basic unless the IdP lists only post (OIDC Discovery §3 default). */
export function tokenAuthMethod(provider: IdentityProvider, metadata: UpstreamMetadata): 'client_secret_basic' | 'client_secret_post' | 'none' {
  if (provider.tokenEndpointAuthMethod) return provider.tokenEndpointAuthMethod;
  const listed = metadata.tokenEndpointAuthMethods;
  return listed && !listed.includes('client_secret_basic') && listed.includes('client_secret_post') ? 'client_secret_post' : 'client_secret_basic';
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined and base64-encoded. */
export const basicCredentials = (id: string, secret: string): string => {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${btoa(`${enc(id)}:${enc(secret)}`)}`;
};

/**
 * Exchanges the upstream's code for its tokens (RFC 6749 §4.1.3, with the PKCE verifier of RFC 7636 §4.5) and returns
 * the raw ID token, not yet verified. An unreachable or failing (5xx) IdP is `upstream_unavailable`; a refusal (4xx) or
 * a body without an ID token is `token_rejected`. The IdP's error text goes only to the logs.
 */
export async function exchangeCode(provider: IdentityProvider, metadata: UpstreamMetadata, input: { code: string; codeVerifier: string; redirectUri: string }): Promise<string> {
  const method = tokenAuthMethod(provider, metadata);
  const form = new URLSearchParams({ grant_type: 'authorization_code', code: input.code, redirect_uri: input.redirectUri, code_verifier: input.codeVerifier });
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };
  if (method === 'client_secret_basic') headers.Authorization = basicCredentials(provider.clientId, provider.clientSecret ?? '');
  else form.set('client_id', provider.clientId);
  if (method === 'client_secret_post') form.set('client_secret', provider.clientSecret ?? '');

  let res: Response;
  try {
    res = await fetch(metadata.tokenEndpoint, { method: 'POST', headers, body: form, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw new FederationError('upstream_unavailable', `token endpoint fetch failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const body: unknown = await res.json().catch(() => undefined);
  if (!res.ok) {
    const upstreamError = z.object({ error: z.string().max(64) }).safeParse(body);
    const detail = `token endpoint answered HTTP ${res.status}${upstreamError.success ? ` ${upstreamError.data.error}` : ''}`;
    throw new FederationError(res.status >= 500 ? 'upstream_unavailable' : 'token_rejected', detail);
  }
  const parsed = tokenResponse.safeParse(body);
  if (!parsed.success) throw new FederationError('token_rejected', 'token response has no id_token');
  // RFC 6749 §5.1, OIDC Core §3.1.3.3: the token type must be Bearer (case-insensitive) when given.
  if (parsed.data.token_type !== undefined && parsed.data.token_type.toLowerCase() !== 'bearer') {
    throw new FederationError('token_rejected', `token_type ${parsed.data.token_type.slice(0, 32)}`);
  }
  return parsed.data.id_token;
}
