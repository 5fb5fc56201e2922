import { OAuthError } from '../../lib/errors.ts';

/** RFC 6749 §3.3 scope-token: printable ASCII except space, quote and backslash. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Splits a `scope` parameter into unique scope tokens; a malformed one is `invalid_scope`. */
export function parseScope(value: string | null | undefined): string[] {
  const scopes = [...new Set((value ?? '').split(' ').filter(Boolean))];
  for (const s of scopes) if (!SCOPE_TOKEN.test(s)) throw new OAuthError('invalid_scope', 'The scope parameter is malformed.');
  return scopes;
}

/** Checks that every requested scope is allowed; returns the requested list. */
export function requireAllowedScopes(requested: string[], allowed: readonly string[]): string[] {
  const extra = requested.filter((s) => !allowed.includes(s));
  if (extra.length) throw new OAuthError('invalid_scope', `Scope not allowed for this client: ${extra.join(' ')}.`);
  return requested;
}

/** OIDC scopes, which client_credentials tokens cannot carry (there is no user). */
export const OIDC_SCOPES = ['openid', 'email', 'profile', 'phone', 'address', 'aws.cognito.signin.user.admin'];
