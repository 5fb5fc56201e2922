import { Hono, type Context } from 'hono';
import { BearerError } from '../../lib/errors.ts';
import type { AppEnv } from '../app-env.ts';
import { database } from '../db.ts';
import { authConfig } from './config.ts';
import { isFamilyRevoked } from './store/refresh-tokens.ts';
import { findUserById } from './store/user-lookup.ts';
import { bearerToken, verifyOwnToken } from './verify.ts';

/** OIDC Core §5.3: the signed-in user's claims for a valid access token, as Cognito's /oauth2/userInfo answers them. */
async function userInfo(c: Context<AppEnv>) {
  const payload = await verifyOwnToken(c.env, authConfig(c.env).issuer, bearerToken(c.req.header('authorization')), 'access');
  const db = database(c.env.DB);
  if (typeof payload.origin_jti === 'string' && (await isFamilyRevoked(db, payload.origin_jti))) {
    throw new BearerError('invalid_token', 'The token has been revoked.');
  }
  const user = typeof payload.sub === 'string' && typeof payload.username === 'string' ? await findUserById(db, payload.sub) : undefined;
  if (!user || !user.enabled) throw new BearerError('invalid_token', 'The token does not belong to an active user.');
  const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ') : [];
  const body: Record<string, unknown> = { sub: user.id, username: user.username };
  if (scopes.includes('email')) Object.assign(body, { email: user.email, email_verified: String(user.emailVerified) });
  if (scopes.includes('profile')) {
    const { name, given_name, family_name, picture, locale, zoneinfo, updated_at } = user.attributes;
    Object.assign(body, Object.fromEntries(Object.entries({ name: name ?? user.displayName ?? undefined, given_name, family_name, picture, locale, zoneinfo, updated_at }).filter(([, v]) => v)));
  }
  c.header('Cache-Control', 'no-store');
  return c.json(body);
}

/** `GET|POST /oauth2/userInfo` (Cognito's path; `/oauth2/userinfo` is accepted too). */
export const userinfo = new Hono<AppEnv>()
  .get('/oauth2/userInfo', userInfo)
  .post('/oauth2/userInfo', userInfo)
  .get('/oauth2/userinfo', userInfo)
  .post('/oauth2/userinfo', userInfo);
