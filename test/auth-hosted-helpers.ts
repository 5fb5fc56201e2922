/**
 * Helpers for the hosted-page integration tests: seeding through the store functions, and a tiny browser (cookie
 * jar + form parsing) that talks to the Worker through `exports.default.fetch`.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { sha256Hex } from '../lib/encoding.ts';
import { createMultiFernet } from '../lib/fernet.ts';
import { s256Challenge } from '../lib/pkce.ts';
import { appClients, authCodes, users } from '../schema/index.ts';
import { app } from '../workers/app.ts';
import { createAppClient, type NewAppClient } from '../workers/auth/store/clients.ts';
import { createUser, type NewUser } from '../workers/auth/store/users.ts';
import { database } from '../workers/db.ts';

export const db = () => database(env.DB);
export const REDIRECT = 'https://app.example/callback';
export const PASSWORD = 'correct horse battery staple';
export const uniqueEmail = (tag = 'user') => `${tag}-${crypto.randomUUID().slice(0, 8)}@example.com`;
/** A random IPv6 documentation-range address (RFC 3849), so tests never share a per-IP throttle bucket. */
export const randomIp = () => `2001:db8::${crypto.randomUUID().slice(0, 4)}:${crypto.randomUUID().slice(0, 4)}`;

/** Seeds a client: public (PKCE required) unless `confidential`, optionally allowing plain PKCE. */
export async function seedClient(opts: { confidential?: boolean; allowPlainPkce?: boolean; redirectUris?: string[]; logoutUris?: string[]; grantTypes?: NewAppClient['grantTypes'] } = {}) {
  const { client, secret } = await createAppClient(db(), {
    name: 'hosted test client',
    confidential: opts.confidential ?? false,
    redirectUris: opts.redirectUris ?? [REDIRECT, 'https://app.example/cb?tenant=a%20b'],
    logoutUris: opts.logoutUris ?? ['https://app.example/bye'],
    allowedScopes: ['openid', 'email', 'profile'],
    ...(opts.grantTypes ? { grantTypes: opts.grantTypes } : {}),
  });
  if (opts.allowPlainPkce) await db().update(appClients).set({ allowPlainPkce: true }).where(eq(appClients.id, client.id));
  return { client, secret };
}

/** Seeds a confirmed user with the shared test password. */
export function seedUser(overrides: Partial<NewUser> = {}) {
  return createUser(db(), createMultiFernet(env.CLAIMS_FERNET_KEYS), { email: uniqueEmail(), password: PASSWORD, status: 'CONFIRMED', emailVerified: true, ...overrides });
}

/** Reads a user row back. */
export const userRow = async (id: string) => (await db().select().from(users).where(eq(users.id, id)))[0];

/** The stored grant of an issued code. */
export const codeRow = async (code: string) => (await db().select().from(authCodes).where(eq(authCodes.codeHash, await sha256Hex(code))))[0];

/** A PKCE verifier and its S256 challenge. */
export async function pkce() {
  const verifier = `${crypto.randomUUID()}${crypto.randomUUID()}`;
  return { verifier, challenge: await s256Challenge(verifier) };
}

/** An authorize URL path for a client with a fresh S256 challenge unless overridden (`null` drops a parameter). */
export async function authorizePath(clientId: string, extra: Record<string, string | null> = {}) {
  const params: Record<string, string | null> = {
    response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'openid email', state: 'st-123', nonce: 'n-456',
    code_challenge: (await pkce()).challenge, code_challenge_method: 'S256', ...extra,
  };
  const q = new URLSearchParams(Object.entries(params).filter((e): e is [string, string] => e[1] !== null));
  return `/oauth2/authorize?${q}`;
}

const decode = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The hidden inputs of a page, by name. */
export function hiddenFields(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of html.match(/<input\b[^>]*>/g) ?? []) {
    const attrs = Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1] ?? '', decode(m[2] ?? '')]));
    if (attrs.type === 'hidden' && attrs.name) out[attrs.name] = attrs.value ?? '';
  }
  return out;
}

/** Runs the real app with some vars changed (another deployment's settings). */
export async function fetchWith(vars: Partial<Env>, url: string, init?: RequestInit) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(url, init), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A cookie-keeping browser over `exports.default.fetch`, with one client IP. Redirects are not followed. */
export function browser(opts: { origin?: string; ip?: string; vars?: Partial<Env> } = {}) {
  const origin = opts.origin ?? 'http://localhost';
  const ip = opts.ip ?? randomIp();
  const jar = new Map<string, string>();
  const send = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set('CF-Connecting-IP', ip);
    if (jar.size) headers.set('Cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
    const url = path.startsWith('http') ? path : `${origin}${path}`;
    const req = { ...init, headers, redirect: 'manual' as const };
    const res = opts.vars ? await fetchWith(opts.vars, url, req) : await exports.default.fetch(url, req);
    for (const cookie of res.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const eqAt = pair.indexOf('=');
      const name = pair.slice(0, eqAt).trim();
      const value = pair.slice(eqAt + 1).trim();
      if (/max-age=0/i.test(cookie) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  };
  return {
    jar,
    ip,
    get: (path: string) => send(path),
    /** Posts a form: the page's hidden fields (CSRF, request) plus `fields`. */
    post: (path: string, fields: Record<string, string>) =>
      send(path, { method: 'POST', body: new URLSearchParams(fields), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }),
    /** GETs a page and posts its form back with `fields` added. */
    async submit(pagePath: string, action: string, fields: Record<string, string>) {
      const page = await send(pagePath);
      const html = await page.text();
      return send(action, { method: 'POST', body: new URLSearchParams({ ...hiddenFields(html), ...fields }), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    },
  };
}

/** The most recent mail to an address, through the dev mailbox (DEV_MODE is on in the test env). */
export async function latestMail(to: string) {
  const res = await exports.default.fetch(`http://localhost/dev/mailbox?format=json&to=${encodeURIComponent(to)}`);
  const list = (await res.json()) as { to: string; subject: string; text: string; createdAt: string }[];
  return list[0];
}

/** The 6-digit code in the most recent mail to an address. */
export async function latestCode(to: string): Promise<string> {
  const mail = await latestMail(to);
  const code = /\b(\d{6})\b/.exec(mail?.text ?? '')?.[1];
  if (!code) throw new Error(`no code mailed to ${to}`);
  return code;
}
