import type { Context } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import type { CookieOptions } from 'hono/utils/cookie';
import type { AppEnv } from '../app-env.ts';
import type { Database } from '../db.ts';
import { authConfig } from './config.ts';
import { subkey } from './hosted/subkeys.ts';
import { createLoginSession, findLiveSession, revokeLoginSession, type LoginSession } from './store/sessions.ts';
import { findUserById } from './store/user-lookup.ts';
import type { User } from './store/users.ts';

/**
 * The hosted-page login session cookie. Its value is `<session id>.<base64 HMAC-SHA-256>` (Hono's signed cookie, keyed
 * by a SESSION_COOKIE_KEY subkey): the signature turns away forged or mangled cookies before any D1 read, and D1 holds
 * only the id's SHA-256, so a database leak yields no usable cookie.
 */
export const SESSION_COOKIE = 'gatehouse_session';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Cookies are Secure everywhere except plain-http loopback, where a browser would otherwise drop them (local dev). */
export function isSecureRequest(url: string): boolean {
  const u = new URL(url);
  return !(u.protocol === 'http:' && LOOPBACK.has(u.hostname));
}

/** The attributes every hosted-page cookie shares. */
export const cookieBase = (c: Context<AppEnv>): CookieOptions => ({ path: '/', httpOnly: true, secure: isSecureRequest(c.req.url) });

/** A signed-in user with a live session (enabled and CONFIRMED or EXTERNAL_PROVIDER: anyone else cannot get codes). */
export type ActiveSession = { session: LoginSession; user: User };

/** Starts a login session for a user who just proved their password, and sets the cookie (SameSite=Lax, so the top-level redirect back from a client carries it). */
export async function startSession(c: Context<AppEnv>, db: Database, user: User, now = Date.now()): Promise<LoginSession> {
  const ttlSeconds = authConfig(c.env).sessionTtlSeconds;
  const { id, session } = await createLoginSession(db, { userId: user.id, authTime: now, ttlSeconds }, now);
  await setSignedCookie(c, SESSION_COOKIE, id, await subkey(c.env.SESSION_COOKIE_KEY, 'session-cookie'), {
    ...cookieBase(c),
    sameSite: 'Lax',
    maxAge: ttlSeconds,
  });
  return session;
}

async function sessionId(c: Context<AppEnv>): Promise<string | undefined> {
  const value = await getSignedCookie(c, await subkey(c.env.SESSION_COOKIE_KEY, 'session-cookie'), SESSION_COOKIE);
  return value || undefined;
}

/** The request's live session and its user, if the cookie verifies and the user may still sign in. */
export async function currentSession(c: Context<AppEnv>, db: Database, now = Date.now()): Promise<ActiveSession | undefined> {
  const id = await sessionId(c);
  if (!id) return undefined;
  const session = await findLiveSession(db, id, now);
  if (!session) return undefined;
  const user = await findUserById(db, session.userId);
  if (!user || !user.enabled || (user.status !== 'CONFIRMED' && user.status !== 'EXTERNAL_PROVIDER')) return undefined;
  return { session, user };
}

/** Revokes the request's session, if any, and clears the cookie (logout). */
export async function endSession(c: Context<AppEnv>, db: Database, now = Date.now()): Promise<void> {
  const id = await sessionId(c);
  if (id) await revokeLoginSession(db, id, now);
  deleteCookie(c, SESSION_COOKIE, { ...cookieBase(c), sameSite: 'Lax' });
}
