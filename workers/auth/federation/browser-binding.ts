import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { randomToken, sha256Hex, timingSafeEqual } from '../../../lib/encoding.ts';
import type { AppEnv } from '../../app-env.ts';
import { cookieBase } from '../session.ts';

/**
 * Binds an upstream sign-in to the browser that started it (RFC 9700 §4.7.1, login CSRF): a random value in an
 * HttpOnly cookie scoped to /oauth2, whose SHA-256 is stored with the state. A callback URL replayed into another
 * browser (an attacker's code and state, pushed to a victim) then fails, because that browser lacks the cookie.
 * SameSite=Lax, because the return from the IdP is a cross-site top-level GET.
 */
export const FEDERATION_COOKIE = 'gatehouse_federation';

const VALUE = /^[A-Za-z0-9_-]{43}$/;

/** How long the binding cookie lives: the life of a pending upstream sign-in. */
export const FLOW_TTL_SECONDS = 600;

/** Sets (or refreshes, so parallel tabs share it) the binding cookie and returns the hash to store with the state. */
export async function bindBrowser(c: Context<AppEnv>): Promise<string> {
  const existing = getCookie(c, FEDERATION_COOKIE);
  const value = existing && VALUE.test(existing) ? existing : randomToken(32);
  setCookie(c, FEDERATION_COOKIE, value, { ...cookieBase(c), path: '/oauth2', sameSite: 'Lax', maxAge: FLOW_TTL_SECONDS });
  return sha256Hex(value);
}

/** Whether this browser holds the cookie whose hash was stored when the flow started. */
export async function isSameBrowser(c: Context<AppEnv>, storedHash: string): Promise<boolean> {
  const value = getCookie(c, FEDERATION_COOKIE);
  return value !== undefined && VALUE.test(value) && timingSafeEqual(await sha256Hex(value), storedHash);
}
