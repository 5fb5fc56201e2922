import { OAuthError } from '../../lib/errors.ts';
import type { Database } from '../db.ts';
import { isPublicClient, requireClient, secretMatches } from './clients.ts';
import type { AppClient } from './store/clients.ts';

/** How the client authenticated (RFC 6749 §2.3, OIDC Core §9). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

const invalidClient = (method: ClientAuthMethod, internal: string) =>
  new OAuthError('invalid_client', 'Client authentication failed.', {
    status: 401,
    internal,
    // RFC 6749 §5.2: a 401 to a client that tried HTTP Basic must carry the Basic challenge.
    headers: method === 'client_secret_basic' ? { 'WWW-Authenticate': 'Basic realm="gatehouse", charset="UTF-8"' } : {},
  });

/** Decodes an RFC 6749 §2.3.1 Basic credential, whose id and secret are form-urlencoded before base64. */
function parseBasic(header: string): { id: string; secret: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match?.[1]) return null;
  let decoded: string;
  try {
    decoded = atob(match[1]);
  } catch {
    return null;
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  try {
    const unform = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { id: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}

/**
 * Authenticates the client of a token or revocation request by exactly one method: Basic, secret in the body, or none
 * (public clients, which then rely on PKCE). Everything that fails is `invalid_client` with no detail on the wire.
 */
export async function authenticateClient(db: Database, authorization: string | undefined, form: URLSearchParams): Promise<{ client: AppClient; method: ClientAuthMethod }> {
  const bodyId = form.get('client_id') ?? undefined;
  const bodySecret = form.get('client_secret') ?? undefined;
  if (authorization && /^Basic\s/i.test(authorization)) {
    if (bodySecret !== undefined) throw new OAuthError('invalid_request', 'Use one client authentication method, not two.');
    const basic = parseBasic(authorization);
    if (!basic) throw invalidClient('client_secret_basic', 'malformed Basic header');
    if (bodyId !== undefined && bodyId !== basic.id) throw invalidClient('client_secret_basic', 'client_id differs from Basic user');
    const client = await requireClient(db, basic.id).catch(() => {
      throw invalidClient('client_secret_basic', `unknown client ${basic.id}`);
    });
    if (!(await secretMatches(client, basic.secret))) throw invalidClient('client_secret_basic', 'wrong secret');
    return { client, method: 'client_secret_basic' };
  }
  if (!bodyId) throw invalidClient('none', 'no client_id');
  const client = await requireClient(db, bodyId).catch(() => {
    throw invalidClient('none', `unknown client ${bodyId}`);
  });
  if (bodySecret !== undefined) {
    if (!(await secretMatches(client, bodySecret))) throw invalidClient('client_secret_post', 'wrong secret');
    return { client, method: 'client_secret_post' };
  }
  if (!isPublicClient(client)) throw invalidClient('none', 'confidential client sent no secret');
  return { client, method: 'none' };
}
