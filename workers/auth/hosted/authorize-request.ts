import { z } from 'zod';
import { OAuthError } from '../../../lib/errors.ts';
import { isPublicClient } from '../clients.ts';
import { parseScope, requireAllowedScopes } from '../scopes.ts';
import type { AppClient } from '../store/clients.ts';
import { seal, unseal } from './subkeys.ts';

/** A validated authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1), as it travels through the hosted pages. */
export type AuthorizeRequest = {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  state?: string | undefined;
  nonce?: string | undefined;
  codeChallenge?: string | undefined;
  codeChallengeMethod?: 'S256' | 'plain' | undefined;
  /** `login` forces the form; `none` forbids it (OIDC Core §3.1.2.1). */
  prompt?: 'login' | 'none' | undefined;
  /** OIDC Core §3.1.2.1 `max_age`, in seconds. */
  maxAge?: number | undefined;
};

/** A sign-in started at /oauth2/authorize may take this long (sign-up and email confirmation included) before it expires. */
export const REQUEST_TTL_MS = 60 * 60 * 1000;

/** Longest `state` and `nonce` accepted, so that they fit in a URL once sealed. */
const MAX_OPAQUE = 2048;

/** RFC 7636 §4.2: 43–128 unreserved characters. */
const CODE_CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;

/** The parameters RFC 6749 §3.1 says must not repeat (plus the OIDC and PKCE ones). */
const SINGLE = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce', 'code_challenge', 'code_challenge_method', 'prompt', 'max_age', 'response_mode', 'identity_provider'];

/** Whether a parameter was sent more than once (RFC 6749 §3.1: such a request is invalid). */
export const isRepeated = (params: URLSearchParams, name: string): boolean => params.getAll(name).length > 1;

const opaque = (name: string, value: string | null): string | undefined => {
  if (value === null || value === '') return undefined;
  if (value.length > MAX_OPAQUE) throw new OAuthError('invalid_request', `The ${name} parameter is too long.`);
  return value;
};

/** OIDC Core §3.1.2.1 prompt: `login` and `none`; `consent` is satisfied (first-party, no consent screen), `select_account` shows the form. */
function parsePrompt(value: string | null): AuthorizeRequest['prompt'] {
  const values = new Set((value ?? '').split(' ').filter(Boolean));
  for (const v of values) {
    if (!['none', 'login', 'consent', 'select_account'].includes(v)) throw new OAuthError('invalid_request', `Unsupported prompt value: ${v}.`);
  }
  if (values.has('none')) {
    if (values.size > 1) throw new OAuthError('invalid_request', 'prompt=none cannot be combined with other values.');
    return 'none';
  }
  return values.has('login') || values.has('select_account') ? 'login' : undefined;
}

/**
 * Validates everything after the client and redirect URI (which the caller checked first, because only then may
 * errors be redirected, RFC 6749 §4.1.2.1). Every failure is an OAuthError for the error redirect.
 */
export function validateAuthorizeParams(client: AppClient, redirectUri: string, params: URLSearchParams): AuthorizeRequest {
  const responseMode = params.get('response_mode');
  if (responseMode !== null && responseMode !== 'query') throw new OAuthError('invalid_request', 'Only response_mode=query is supported.');
  const repeated = SINGLE.find((name) => isRepeated(params, name));
  if (repeated) throw new OAuthError('invalid_request', `The ${repeated} parameter must not be repeated.`);
  const responseType = params.get('response_type');
  if (!responseType) throw new OAuthError('invalid_request', 'The response_type parameter is required.');
  if (responseType !== 'code') throw new OAuthError('unsupported_response_type', 'Only response_type=code is supported.');
  if (!client.grantTypes.includes('authorization_code')) {
    throw new OAuthError('unauthorized_client', 'This client may not use the authorization code flow.');
  }
  // OIDC Core §6.1, §6.2: request objects are not supported (discovery says so).
  if (params.has('request')) throw new OAuthError('request_not_supported', 'Request objects are not supported.');
  if (params.has('request_uri')) throw new OAuthError('request_uri_not_supported', 'request_uri is not supported.');
  const identityProvider = params.get('identity_provider');
  // Cognito's name for the user pool itself; any other provider needs federation, which is not configured.
  if (identityProvider !== null && identityProvider !== 'COGNITO') throw new OAuthError('invalid_request', 'Unknown identity provider.');

  const scopes = parseScope(params.get('scope'));
  if (!scopes.includes('openid')) throw new OAuthError('invalid_scope', 'The scope must include openid.');
  requireAllowedScopes(scopes, client.allowedScopes);

  const codeChallenge = params.get('code_challenge') || undefined;
  const method = params.get('code_challenge_method') || undefined;
  let codeChallengeMethod: AuthorizeRequest['codeChallengeMethod'];
  if (codeChallenge === undefined) {
    if (method !== undefined) throw new OAuthError('invalid_request', 'code_challenge_method was sent without code_challenge.');
    // RFC 7636 §4.4.1, OAuth 2.1 §7.5.1: public clients must use PKCE.
    if (isPublicClient(client)) throw new OAuthError('invalid_request', 'This client must send a PKCE code_challenge (S256).');
  } else {
    if (!CODE_CHALLENGE.test(codeChallenge)) throw new OAuthError('invalid_request', 'The code_challenge is malformed.');
    // RFC 7636 §4.3: an absent method means plain.
    const m = method ?? 'plain';
    if (m !== 'S256' && m !== 'plain') throw new OAuthError('invalid_request', 'Unsupported code_challenge_method; use S256.');
    if (m === 'plain' && !client.allowPlainPkce) throw new OAuthError('invalid_request', 'code_challenge_method=plain is not allowed for this client; use S256.');
    codeChallengeMethod = m;
  }

  const maxAgeText = params.get('max_age');
  let maxAge: number | undefined;
  if (maxAgeText !== null && maxAgeText !== '') {
    if (!/^\d{1,9}$/.test(maxAgeText)) throw new OAuthError('invalid_request', 'max_age must be a non-negative integer.');
    maxAge = Number(maxAgeText);
  }

  return {
    clientId: client.id,
    redirectUri,
    scopes,
    state: opaque('state', params.get('state')),
    nonce: opaque('nonce', params.get('nonce')),
    codeChallenge,
    codeChallengeMethod,
    prompt: parsePrompt(params.get('prompt')),
    maxAge,
  };
}

const sealedShape = z.object({
  v: z.literal(1),
  exp: z.number(),
  r: z.object({
    clientId: z.string(),
    redirectUri: z.string(),
    scopes: z.array(z.string()),
    state: z.string().optional(),
    nonce: z.string().optional(),
    codeChallenge: z.string().optional(),
    codeChallengeMethod: z.enum(['S256', 'plain']).optional(),
    prompt: z.enum(['login', 'none']).optional(),
    maxAge: z.number().optional(),
  }),
});

/** Seals a validated request for the hidden form field and page links: HMAC'd with a purpose key and time-limited. */
export function sealRequest(secret: string, request: AuthorizeRequest, now = Date.now()): Promise<string> {
  const r = Object.fromEntries(Object.entries(request).filter(([, v]) => v !== undefined));
  return seal(secret, 'authorize-request', { v: 1, exp: now + REQUEST_TTL_MS, r });
}

/** Opens a sealed request; undefined when it was tampered with, is malformed or has expired. */
export async function unsealRequest(secret: string, sealed: string, now = Date.now()): Promise<AuthorizeRequest | undefined> {
  const parsed = sealedShape.safeParse(await unseal(secret, 'authorize-request', sealed));
  if (!parsed.success || parsed.data.exp <= now) return undefined;
  return parsed.data.r;
}

/**
 * Adds response parameters to a redirect URI, keeping its own query as registered (RFC 6749 §3.1.2); a fragment,
 * which §3.1.2 forbids in a redirect URI, is dropped.
 */
export function withParams(uri: string, params: Record<string, string | undefined>): string {
  const hash = uri.indexOf('#');
  const base = hash === -1 ? uri : uri.slice(0, hash);
  const q = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined)).toString();
  if (!q) return uri;
  const sep = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
  return `${base}${sep}${q}`;
}
