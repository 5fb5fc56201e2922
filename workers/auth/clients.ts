import { OAuthError } from '../../lib/errors.ts';
import { sha256Hex, timingSafeEqual } from '../../lib/encoding.ts';
import type { Database } from '../db.ts';
import { findAppClient, type AppClient } from './store/clients.ts';

/** Whether a redirect URI is registered for the client: exact string match, as RFC 6749 §3.1.2.3 and OAuth 2.1 require. */
export const isRegisteredRedirect = (client: AppClient, uri: string): boolean => client.redirectUris.includes(uri);

/** Whether a client is public (no secret), which makes PKCE S256 mandatory. */
export const isPublicClient = (client: AppClient): boolean => client.secretHash === null;

/** Checks a client secret against the stored SHA-256 in constant time. */
export async function secretMatches(client: AppClient, secret: string): Promise<boolean> {
  if (client.secretHash === null) return false;
  return timingSafeEqual(await sha256Hex(secret), client.secretHash);
}

/**
 * How long an isolate may reuse a client's settings without reading D1 again. The token endpoint is the hottest path
 * and a client rarely changes; a rotated secret, changed settings or a deleted client apply within this time.
 */
export const CLIENT_CACHE_MS = 5_000;
const CLIENT_CACHE_MAX = 1_000;
const clientCache = new Map<string, { client: AppClient; until: number }>();

/** Looks a client up through the short per-isolate cache (only existing clients are cached). */
async function cachedClient(db: Database, clientId: string): Promise<AppClient | undefined> {
  const now = Date.now();
  const hit = clientCache.get(clientId);
  if (hit && hit.until > now) return hit.client;
  const client = await findAppClient(db, clientId);
  if (client) {
    if (clientCache.size >= CLIENT_CACHE_MAX) clientCache.clear();
    clientCache.set(clientId, { client, until: now + CLIENT_CACHE_MS });
  } else {
    clientCache.delete(clientId);
  }
  return client;
}

/** Loads a client for an OAuth endpoint, failing with `invalid_client` when it does not exist. */
export async function requireClient(db: Database, clientId: string | undefined): Promise<AppClient> {
  const client = clientId ? await cachedClient(db, clientId) : undefined;
  if (!client) throw new OAuthError('invalid_client', 'Client authentication failed.', { internal: `unknown client ${clientId ?? '(none)'}` });
  return client;
}
