import type { Context } from 'hono';
import { OAuthError } from '../../../lib/errors.ts';
import type { AppEnv } from '../../app-env.ts';
import type { Database } from '../../db.ts';
import { isRegisteredRedirect } from '../clients.ts';
import { authConfig } from '../config.ts';
import { findAppClient, type AppClient } from '../store/clients.ts';
import { issueAuthCode } from '../store/codes.ts';
import type { User } from '../store/users.ts';
import { unsealRequest, withParams, type AuthorizeRequest } from './authorize-request.ts';
import { errorPage } from './error-page.tsx';
import { formTargetFor } from './page.tsx';

/** RFC 6749 §4.1.2.1 error redirect, with `iss` (RFC 9207) so a client talking to several servers can tell who answered. */
export function errorRedirect(c: Context<AppEnv>, to: { redirectUri: string; state?: string | undefined }, err: OAuthError): Response {
  c.header('Cache-Control', 'no-store');
  const location = withParams(to.redirectUri, { error: err.error, error_description: err.message, state: to.state, iss: authConfig(c.env).issuer });
  return c.redirect(location, 302);
}

/**
 * Issues an authorization code for a signed-in user and redirects to the client (RFC 6749 §4.1.2). Only enabled,
 * CONFIRMED (or federated, EXTERNAL_PROVIDER) users get codes; `authTime` is when they last signed in (OIDC `auth_time`).
 */
export async function issueCodeRedirect(c: Context<AppEnv>, db: Database, request: AuthorizeRequest, user: User, authTime: number): Promise<Response> {
  if (!user.enabled || (user.status !== 'CONFIRMED' && user.status !== 'EXTERNAL_PROVIDER')) throw new Error('issueCodeRedirect called for a user who may not sign in');
  const code = await issueAuthCode(db, {
    clientId: request.clientId,
    userId: user.id,
    redirectUri: request.redirectUri,
    scopes: request.scopes,
    nonce: request.nonce ?? null,
    codeChallenge: request.codeChallenge ?? null,
    codeChallengeMethod: request.codeChallengeMethod ?? null,
    authTime,
  });
  c.header('Cache-Control', 'no-store');
  return c.redirect(withParams(request.redirectUri, { code, state: request.state, iss: authConfig(c.env).issuer }), 302);
}

/** A carried request that still holds: its client exists and its redirect URI is still registered. */
export type CarriedRequest = { request: AuthorizeRequest; client: AppClient; sealed: string };

/**
 * Opens the sealed authorize request a hosted form carried. Undefined when none was sent; an error page when it was
 * tampered with, expired, or its client or redirect URI no longer exists, and an error redirect when the client no
 * longer allows what it asked for (the client registry may change while someone signs up or resets a password).
 */
export async function openCarriedRequest(c: Context<AppEnv>, db: Database, sealed: string | undefined): Promise<CarriedRequest | Response | undefined> {
  if (!sealed) return undefined;
  const request = await unsealRequest(c.env.SESSION_COOKIE_KEY, sealed);
  if (!request) return errorPage(c, 400, 'expired_request');
  const client = await findAppClient(db, request.clientId);
  if (!client) return errorPage(c, 400, 'unknown_client');
  if (!isRegisteredRedirect(client, request.redirectUri)) return errorPage(c, 400, 'bad_redirect');
  if (!client.grantTypes.includes('authorization_code') || request.scopes.some((s) => !client.allowedScopes.includes(s))) {
    return errorRedirect(c, request, new OAuthError('invalid_scope', 'The client registration changed during sign-in; start again.'));
  }
  return { request, client, sealed };
}

/** A form that may end in a redirect to the client needs that target in its CSP `form-action` (see page.tsx). */
export function targetsOf(carried: CarriedRequest | undefined): string[] {
  const target = carried && formTargetFor(carried.request.redirectUri);
  return target ? [target] : [];
}
