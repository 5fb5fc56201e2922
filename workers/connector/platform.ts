/**
 * The connector's calls to the Gatehouse platform, as its own service identity: a token from the app client in the
 * secrets (client_credentials; or USER_PASSWORD_AUTH as a service member when GATEHOUSE_USERNAME is set), cached until
 * shortly before it expires, and the records API (pages, the push stream, appends) and the organisation's public keys.
 */
import { z } from 'zod';
import { bytesToBase64, utf8 } from '../../lib/encoding.ts';
import { recordPage, recordView, type RecordView } from '../../lib/records/view.ts';
import type { ConnectorSettings } from './config.ts';

/** The platform refused or failed a call; `status` is its HTTP status (0 when it could not be reached). */
export class PlatformError extends Error {
  override readonly name = 'PlatformError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The connector's service credentials (secrets). */
export type ServiceCredentials = { clientId: string; clientSecret: string; username?: string; password?: string };

/** Reads the service credentials from the secrets. */
export function serviceCredentials(env: Env): ServiceCredentials {
  return { clientId: env.GATEHOUSE_CLIENT_ID ?? '', clientSecret: env.GATEHOUSE_CLIENT_SECRET ?? '', username: env.GATEHOUSE_USERNAME || undefined, password: env.GATEHOUSE_PASSWORD || undefined };
}

const tokenAnswer = z.object({ access_token: z.string(), expires_in: z.number().optional() });
const cognitoAnswer = z.object({ AuthenticationResult: z.object({ AccessToken: z.string(), ExpiresIn: z.number() }) });
const tokens = new Map<string, { token: string; expiresAt: number }>();

async function hmacBase64(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', utf8(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return bytesToBase64(new Uint8Array(await crypto.subtle.sign('HMAC', key, utf8(message))));
}

async function call(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(30_000) });
  } catch (e) {
    throw new PlatformError(0, `the platform at ${new URL(url).origin} could not be reached (${e instanceof Error ? e.message : 'network error'})`);
  }
}

async function fetchServiceToken(settings: ConnectorSettings, creds: ServiceCredentials): Promise<{ token: string; expiresIn: number }> {
  if (!creds.clientId) throw new PlatformError(0, 'GATEHOUSE_CLIENT_ID is not set: run npm run connector:setup or set the secret');
  if (creds.username) {
    const params: Record<string, string> = { USERNAME: creds.username, PASSWORD: creds.password ?? '' };
    if (creds.clientSecret) params.SECRET_HASH = await hmacBase64(creds.clientSecret, creds.username + creds.clientId);
    const res = await call(`${settings.gatehouseUrl}/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSCognitoIdentityProviderService.InitiateAuth' },
      body: JSON.stringify({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: creds.clientId, AuthParameters: params }),
    });
    const raw: unknown = await res.json().catch(() => null);
    const body = cognitoAnswer.safeParse(raw);
    if (!res.ok || !body.success) {
      // Cognito's error type and message say what is wrong (they never contain the password).
      const err = z.object({ __type: z.string().optional(), message: z.string().optional() }).safeParse(raw);
      const why = err.success ? [err.data.__type, err.data.message].filter(Boolean).join(': ') : '';
      throw new PlatformError(res.status, `the platform refused the connector's service sign-in (HTTP ${res.status}${why ? `, ${why}` : ''}); check GATEHOUSE_USERNAME, GATEHOUSE_PASSWORD and GATEHOUSE_CLIENT_ID`);
    }
    return { token: body.data.AuthenticationResult.AccessToken, expiresIn: body.data.AuthenticationResult.ExpiresIn };
  }
  const res = await call(`${settings.gatehouseUrl}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${btoa(`${encodeURIComponent(creds.clientId)}:${encodeURIComponent(creds.clientSecret)}`)}` },
    body: new URLSearchParams({ grant_type: 'client_credentials' }),
  });
  const body = tokenAnswer.safeParse(await res.json().catch(() => null));
  if (!res.ok || !body.success) throw new PlatformError(res.status, `the platform refused the connector's client_credentials (HTTP ${res.status}); check GATEHOUSE_CLIENT_ID and GATEHOUSE_CLIENT_SECRET`);
  return { token: body.data.access_token, expiresIn: body.data.expires_in ?? 300 };
}

/** A platform access token for the connector itself, reused until a minute before it expires. */
export async function serviceToken(settings: ConnectorSettings, creds: ServiceCredentials, opts: { fresh?: boolean } = {}): Promise<string> {
  const key = `${settings.gatehouseUrl}|${creds.clientId}|${creds.username ?? ''}`;
  const hit = tokens.get(key);
  if (hit && !opts.fresh && hit.expiresAt > Date.now() + 60_000) return hit.token;
  const { token, expiresIn } = await fetchServiceToken(settings, creds);
  tokens.set(key, { token, expiresAt: Date.now() + expiresIn * 1000 });
  return token;
}

/** A client of the platform's records API for one organisation, with a token source (retried once on 401). */
export function platformClient(settings: ConnectorSettings, token: (fresh: boolean) => Promise<string>) {
  const base = `${settings.gatehouseUrl}/api/orgs/${encodeURIComponent(settings.orgId)}`;
  async function authed(path: string, init: RequestInit = {}): Promise<Response> {
    let res = await call(`${base}${path}`, { ...init, headers: { ...init.headers, Authorization: `Bearer ${await token(false)}` } });
    if (res.status === 401) res = await call(`${base}${path}`, { ...init, headers: { ...init.headers, Authorization: `Bearer ${await token(true)}` } });
    return res;
  }
  async function json<T>(res: Response, schema: z.ZodType<T>, what: string): Promise<T> {
    const text = await res.text();
    if (!res.ok) {
      let detail = '';
      try {
        detail = String((JSON.parse(text) as { detail?: unknown }).detail ?? '');
      } catch {
        /* not JSON */
      }
      throw new PlatformError(res.status, `${what}: HTTP ${res.status}${detail ? ` (${detail})` : ''}`);
    }
    const parsed = schema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new PlatformError(res.status, `${what}: unexpected answer (${parsed.error.issues[0]?.message ?? 'invalid'})`);
    return parsed.data;
  }
  return {
    /** One page of the log after `cursor` (from the start when null). */
    async page(cursor: string | null, limit: number) {
      const q = new URLSearchParams({ limit: String(limit) });
      if (cursor) q.set('after', cursor);
      return json(await authed(`/records?${q}`), recordPage, 'reading the organisation log');
    },
    /** The organisation's public keys (all statuses), for verifying signatures. */
    async signingKeys() {
      const org = await json(await authed(''), z.object({ keys: z.object({ signing: z.array(z.object({ kid: z.string(), status: z.string(), jwk: z.record(z.string(), z.unknown()) })) }).optional() }), 'reading the organisation');
      return org.keys?.signing ?? [];
    },
    /** Appends a signed record; resolves to the stored record ("duplicate" when that id was stored before). */
    async append(body: { id: string; type: string; time: string; payload: unknown; signature: string }, bearer?: string) {
      const init: RequestInit = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
      const res = bearer ? await call(`${base}/records`, { ...init, headers: { ...init.headers, Authorization: `Bearer ${bearer}` } }) : await authed('/records', init);
      return json(res, z.object({ status: z.enum(['stored', 'duplicate']), record: recordView }), 'appending a record');
    },
    /** Opens the push stream after `cursor`; resolves to the accepted WebSocket. */
    async stream(cursor: string | null): Promise<WebSocket> {
      const url = `${base}/records/stream${cursor ? `?after=${encodeURIComponent(cursor)}` : ''}`;
      const res = await call(url, { headers: { Upgrade: 'websocket', Authorization: `Bearer ${await token(false)}` } });
      if (res.status !== 101 || !res.webSocket) throw new PlatformError(res.status, `opening the records stream: HTTP ${res.status}`);
      res.webSocket.accept();
      return res.webSocket;
    },
  };
}

/** The records API client. */
export type PlatformClient = ReturnType<typeof platformClient>;
/** One log entry as the platform serves it. */
export type { RecordView };
