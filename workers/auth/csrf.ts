import type { Context } from 'hono';
import { getSignedCookie, setSignedCookie } from 'hono/cookie';
import { randomToken, timingSafeEqual } from '../../lib/encoding.ts';
import type { AppEnv } from '../app-env.ts';
import { cookieBase } from './session.ts';
import { subkey } from './hosted/subkeys.ts';

/**
 * CSRF protection for the hosted forms: a *signed* double-submit token (OWASP CSRF Cheat Sheet, "Signed Double-Submit
 * Cookie"). A random token sits in an HttpOnly, SameSite=Strict cookie signed with a SESSION_COOKIE_KEY subkey, and
 * the same token is a hidden field of every form; a POST is accepted only when both are present and equal.
 *
 * Why this and not a server-side token store: the forms are used before anyone is signed in, so there is no session
 * to hang a token on, and a stateless check costs no D1 write per page view. Why signed: a plain double-submit cookie
 * can be planted by a sibling subdomain or a man-in-the-middle on http; the signature makes such a cookie worthless.
 * A cross-site page can neither read the cookie nor the field, so it cannot make a matching pair; Lax (not Strict)
 * because a browser arriving from a client app is a cross-site navigation, and Lax lets all its tabs share one token
 * while still withholding the cookie from cross-site POSTs.
 */
export const CSRF_COOKIE = 'gatehouse_csrf';

const key = (c: Context<AppEnv>) => subkey(c.env.SESSION_COOKIE_KEY, 'csrf-cookie');

/** The token for this browser's forms: the one in its cookie, or a new one (and the cookie that carries it). */
export async function csrfToken(c: Context<AppEnv>): Promise<string> {
  const existing = await getSignedCookie(c, await key(c), CSRF_COOKIE);
  if (existing) return existing;
  const token = randomToken(32);
  await setSignedCookie(c, CSRF_COOKIE, token, await key(c), { ...cookieBase(c), sameSite: 'Lax' });
  return token;
}

/** Whether a submitted form's token matches this browser's signed cookie. */
export async function verifyCsrf(c: Context<AppEnv>, submitted: string | undefined): Promise<boolean> {
  if (!submitted) return false;
  const cookie = await getSignedCookie(c, await key(c), CSRF_COOKIE);
  return typeof cookie === 'string' && cookie.length > 0 && timingSafeEqual(cookie, submitted);
}
