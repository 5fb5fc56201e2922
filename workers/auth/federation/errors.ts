import { OAuthError } from '../../../lib/errors.ts';

/**
 * Why a federated sign-in failed. Each kind has a fixed public message and the RFC 6749 §4.1.2.1 error code sent to
 * the client; the upstream's own words (error_description, exception messages) only ever go to the logs.
 */
const KINDS = {
  /** The IdP could not be reached or answered 5xx (discovery, token endpoint, JWKS). */
  upstream_unavailable: { code: 'temporarily_unavailable', message: (p: string) => `${p} cannot be reached right now. Try again in a few minutes.` },
  /** The user refused consent, or the IdP refused the sign-in (`error=access_denied` at the callback). */
  upstream_denied: { code: 'access_denied', message: (p: string) => `Sign-in with ${p} was cancelled or refused.` },
  /** The IdP answered the authorization request with another error. */
  upstream_error: { code: 'server_error', message: (p: string) => `${p} could not sign you in.` },
  /** The token endpoint refused the code (4xx) or answered something that is not a token response. */
  token_rejected: { code: 'server_error', message: (p: string) => `${p} did not accept the sign-in. Try again.` },
  /** The upstream ID token failed verification (signature, iss, aud, exp, nonce, alg). */
  invalid_id_token: { code: 'server_error', message: (p: string) => `The answer from ${p} could not be verified.` },
  /** The provider's discovery document is unusable (wrong issuer, missing endpoints), or its setup is incomplete. */
  misconfigured: { code: 'server_error', message: (p: string) => `Sign-in with ${p} is not set up correctly. Contact your administrator.` },
  /** No email address in the mapped claims. */
  email_missing: { code: 'access_denied', message: (p: string) => `${p} did not share an email address, which this service needs.` },
  /** The email's domain is not in `allowedEmailDomains`. */
  email_domain: { code: 'access_denied', message: () => 'Accounts from your email domain may not sign in here.' },
  /** Policy `verified_email_required` and the IdP did not say the email is verified. */
  email_unverified: { code: 'access_denied', message: (p: string) => `${p} has not verified your email address, so you cannot sign in with it here.` },
  /** A local account with this email exists but may not be linked (not yet confirmed, or awaiting a password change). */
  link_refused: { code: 'access_denied', message: () => 'An account with this email address already exists here and cannot be linked yet. Sign in with your password first, or ask your administrator.' },
  /** The local user is disabled. */
  disabled: { code: 'access_denied', message: () => 'This account is disabled.' },
} as const;

/** The kinds of federation failure. */
export type FederationFailure = keyof typeof KINDS;

/** A federated sign-in that cannot go on; `internal` is for the logs only. */
export class FederationError extends Error {
  override name = 'FederationError';
  readonly kind: FederationFailure;
  readonly internal: string | undefined;
  /** An OIDC error code relayed to the client as the upstream sent it, instead of the kind's own. */
  readonly relayedCode: string | undefined;
  constructor(kind: FederationFailure, internal?: string, relayedCode?: string) {
    super(kind);
    this.kind = kind;
    this.internal = internal;
    this.relayedCode = relayedCode;
  }

  /** The fixed message shown to the user, naming the provider by its display name. */
  publicMessage(providerName: string): string {
    return KINDS[this.kind].message(providerName);
  }

  /** The error to redirect to the client with (RFC 6749 §4.1.2.1). */
  toOAuth(providerName: string): OAuthError {
    return new OAuthError(this.relayedCode ?? KINDS[this.kind].code, this.publicMessage(providerName), { internal: this.internal });
  }
}

/** OIDC Core §3.1.2.6 errors an upstream may answer with that mean the same to our client, relayed as they are. */
const RELAYED = new Set(['login_required', 'interaction_required', 'consent_required', 'account_selection_required']);

/** Maps the upstream's `error` at the callback (RFC 6749 §4.1.2.1) to ours: denial, outage, a relayed prompt=none answer, or a generic failure. */
export function upstreamAuthorizationError(error: string): FederationError {
  const internal = `upstream answered error=${error.slice(0, 64)}`;
  if (error === 'access_denied') return new FederationError('upstream_denied', internal);
  if (error === 'temporarily_unavailable' || error === 'server_error') return new FederationError('upstream_unavailable', internal);
  if (RELAYED.has(error)) return new FederationError('upstream_error', internal, error);
  return new FederationError('upstream_error', internal);
}
