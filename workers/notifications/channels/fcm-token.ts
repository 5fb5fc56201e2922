/**
 * OAuth 2.0 access tokens for FCM HTTP v1, minted from a Google service-account key with the JWT bearer grant
 * (RFC 7523 §2.1): an RS256 assertion signed with the account's private key, exchanged at the token URL for a
 * token with the `firebase.messaging` scope. Tokens are cached per isolate until a minute before they expire.
 */
import { importPKCS8, SignJWT } from 'jose';
import { z } from 'zod';

/** The OAuth scope FCM HTTP v1 requires. */
export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
/** Google's token endpoint, used unless FCM_TOKEN_URL or the key's `token_uri` says otherwise. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const ASSERTION_LIFETIME_S = 3600;
const REFRESH_MARGIN_MS = 60_000;

const serviceAccountSchema = z.looseObject({
  type: z.literal('service_account').optional(),
  project_id: z.string().min(1),
  private_key_id: z.string().optional(),
  private_key: z.string().includes('PRIVATE KEY'),
  client_email: z.string().min(3),
  token_uri: z.url().optional(),
});

/** The fields of a service-account key file that FCM needs. */
export type ServiceAccount = z.output<typeof serviceAccountSchema>;

/** Parses `FCM_SERVICE_ACCOUNT` (the JSON key file); the error names the setting, never the key. */
export function parseServiceAccount(json: string): ServiceAccount {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('FCM_SERVICE_ACCOUNT is not JSON');
  }
  const parsed = serviceAccountSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`FCM_SERVICE_ACCOUNT is not a service-account key (${parsed.error.issues.map((i) => i.path.join('.')).join(', ')})`);
  return parsed.data;
}

/** The token endpoint could not give a token; `retryable` when trying later may help (429, 5xx, network). */
export class FcmAuthError extends Error {
  override name = 'FcmAuthError';
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean) {
    super(message);
    this.retryable = retryable;
  }
}

type Cached = { token: string; expiresAt: number };
const tokens = new Map<string, Cached>();
const pending = new Map<string, Promise<Cached>>();
const keys = new Map<string, Promise<CryptoKey>>();

const cacheKey = (sa: ServiceAccount, tokenUrl: string) => `${sa.client_email}|${sa.private_key_id ?? ''}|${tokenUrl}`;

/** Signs the RFC 7523 assertion: `iss` the account, `scope`, `aud` the token URL, one hour. */
export async function signAssertion(sa: ServiceAccount, tokenUrl: string, now = Date.now()): Promise<string> {
  let key = keys.get(sa.private_key);
  if (!key) {
    key = importPKCS8(sa.private_key, 'RS256');
    key.catch(() => keys.delete(sa.private_key));
    keys.set(sa.private_key, key);
  }
  const iat = Math.floor(now / 1000);
  return new SignJWT({ scope: FCM_SCOPE })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(sa.private_key_id ? { kid: sa.private_key_id } : {}) })
    .setIssuer(sa.client_email)
    .setAudience(tokenUrl)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ASSERTION_LIFETIME_S)
    .sign(await key);
}

async function mint(sa: ServiceAccount, tokenUrl: string, fetcher: typeof fetch, now: number): Promise<Cached> {
  let res: Response;
  try {
    res = await fetcher(tokenUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await signAssertion(sa, tokenUrl, now) }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new FcmAuthError(`token endpoint unreachable: ${err instanceof Error ? err.name : 'error'}`, true);
  }
  const body = (await res.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown; error?: unknown };
  if (!res.ok || typeof body.access_token !== 'string') {
    const error = typeof body.error === 'string' ? ` ${body.error.slice(0, 64)}` : '';
    throw new FcmAuthError(`token endpoint answered HTTP ${res.status}${error}`, res.status === 429 || res.status >= 500);
  }
  const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600;
  return { token: body.access_token, expiresAt: now + expiresIn * 1000 };
}

/** A valid access token for the account, from the cache or freshly minted (one mint at a time per account). */
export async function fcmAccessToken(sa: ServiceAccount, tokenUrl: string, fetcher: typeof fetch = fetch, now = Date.now()): Promise<string> {
  const key = cacheKey(sa, tokenUrl);
  const cached = tokens.get(key);
  if (cached && cached.expiresAt - REFRESH_MARGIN_MS > now) return cached.token;
  let minting = pending.get(key);
  if (!minting) {
    minting = mint(sa, tokenUrl, fetcher, now).finally(() => pending.delete(key));
    pending.set(key, minting);
  }
  const fresh = await minting;
  tokens.set(key, fresh);
  return fresh.token;
}

/** Drops the cached token (FCM answered 401: it was revoked or the key rotated). */
export const forgetFcmAccessToken = (sa: ServiceAccount, tokenUrl: string): void => void tokens.delete(cacheKey(sa, tokenUrl));
