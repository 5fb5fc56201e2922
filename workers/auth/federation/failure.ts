import type { Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { errorRedirect, type CarriedRequest } from '../hosted/complete.ts';
import { renderLogin } from '../hosted/login.tsx';
import type { IdentityProvider } from './config.ts';
import { federationErrorPage } from './error-page.tsx';
import type { FederationError } from './errors.ts';
import type { PendingFederation } from './state-store.ts';

/**
 * Ends a failed federated sign-in where the person can act on it, never with a 500:
 * - an app asked for the provider (`identity_provider=`): an OAuth error redirect to the app (RFC 6749 §4.1.2.1);
 * - the person pressed a provider button on the sign-in page: that page again, with the reason, so they can retry or
 *   use their password;
 * The reason shown is a fixed sentence; the internal detail goes to the log only.
 */
export function federationFailed(
  c: Context<AppEnv>,
  err: FederationError,
  provider: IdentityProvider,
  at: { origin: PendingFederation['origin']; carried: CarriedRequest | undefined },
): Promise<Response> | Response {
  c.get('log').warn('federation failed', { provider: provider.name, kind: err.kind, internal: err.internal });
  if (at.origin === 'authorize' && at.carried) return errorRedirect(c, at.carried.request, err.toOAuth(provider.displayName));
  if (at.origin === 'login') return renderLogin(c, at.carried, { providerError: err.publicMessage(provider.displayName) }, { status: 400 });
  return federationErrorPage(c, 'failed', err.publicMessage(provider.displayName));
}
