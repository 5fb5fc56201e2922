/**
 * The connector's calls to the Gatehouse platform, as its own service identity: a client_credentials token of the app
 * client in the secrets, which is bound to the organisation (`POST /api/orgs/:orgId/clients`, made by
 * `npm run connector:setup`), cached until shortly before it expires; and the records API (pages, the push stream,
 * appends) and the organisation's public keys.
 */
import { z } from 'zod';
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
export type ServiceCredentials = { clientId: string; clientSecret: string };

/** Reads the service credentials from the secrets. */
export function serviceCredentials(env: Env): ServiceCredentials {
  return { clientId: env.GATEHOUSE_CLIENT_ID ?? '', clientSecret: env.GATEHOUSE_CLIENT_SECRET ?? '' };
}

const tokenAnswer = z.object({ access_token: z.string(), expires_in: z.number().optional() });
const tokens = new Map<string, { token: string; expiresAt: number }>();

async function call(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(30_000) });
  } catch (e) {
    throw new PlatformError(0, `the platform at ${new URL(url).origin} could not be reached (${e instanceof Error ? e.message : 'network error'})`);
  }
}

async function fetchServiceToken(settings: ConnectorSettings, creds: ServiceCredentials): Promise<{ token: string; expiresIn: number }> {
  if (!creds.clientId || !creds.clientSecret) throw new PlatformError(0, 'GATEHOUSE_CLIENT_ID or GATEHOUSE_CLIENT_SECRET is not set: run npm run connector:setup or set the secrets');
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
  const key = `${settings.gatehouseUrl}|${creds.clientId}`;
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
