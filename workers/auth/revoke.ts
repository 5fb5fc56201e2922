import { Hono } from 'hono';
import { OAuthError } from '../../lib/errors.ts';
import type { AppEnv } from '../app-env.ts';
import { database } from '../db.ts';
import { authenticateClient } from './client-auth.ts';
import { authConfig } from './config.ts';
import { findRefreshToken, revokeFamily } from './store/refresh-tokens.ts';
import { verifyOwnToken } from './verify.ts';

/**
 * `POST /oauth2/revoke` (RFC 7009). A refresh token revokes its whole family (every refresh token of that sign-in,
 * and the family's access tokens at userinfo); an access token revokes its family too. Unknown tokens get 200 (§2.2).
 */
export const revoke = new Hono<AppEnv>().post('/oauth2/revoke', async (c) => {
  if (!/^application\/x-www-form-urlencoded\b/i.test(c.req.header('content-type') ?? '')) {
    throw new OAuthError('invalid_request', 'The body must be application/x-www-form-urlencoded.');
  }
  const form = new URLSearchParams(await c.req.text());
  const db = database(c.env.DB);
  const { client } = await authenticateClient(db, c.req.header('authorization'), form);
  const token = form.get('token');
  if (!token) throw new OAuthError('invalid_request', 'The token parameter is required.');
  const hint = form.get('token_type_hint');
  if (hint && hint !== 'refresh_token' && hint !== 'access_token') throw new OAuthError('unsupported_token_type', `Unsupported token_type_hint ${hint}.`);

  if (token.split('.').length === 3) {
    const claims = await verifyOwnToken(c.env, authConfig(c.env).issuer, token, 'access').catch(() => null);
    if (claims && claims.client_id === client.id && typeof claims.origin_jti === 'string') {
      await revokeFamily(db, claims.origin_jti, 'revoked', (claims.exp ?? 0) * 1000 + 31 * 86_400_000);
    }
    // A JWT we did not issue, or another client's, is ignored as RFC 7009 §2.2 asks.
  } else {
    const grant = await findRefreshToken(db, token);
    if (grant && grant.clientId === client.id) await revokeFamily(db, grant.familyId, 'revoked', grant.expiresAt);
  }
  c.header('Cache-Control', 'no-store');
  return c.body(null, 200);
});
