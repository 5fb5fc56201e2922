/**
 * `ANY /platform/*`: the go-connector's proxy mode. Relays the call to the Gatehouse API with the caller's own token
 * and, in the JSON it returns, decrypts every `payload` member that is a compact JWE addressed to one of the
 * organisation's keys (adding `payloadDecryption` beside it), so clients read the platform's API in clear.
 */
import type { Context } from 'hono';
import { Problem } from '../../lib/errors.ts';
import { looksLikeJwe, openPayload, type DecryptionKeys } from '../../lib/records/open.ts';
import type { ConnectorEnv } from './env.ts';
import { orgKeys } from './keys.ts';

const FORWARDED = ['accept', 'content-type', 'if-none-match', 'if-match', 'upgrade'];

async function decryptPayloads(value: unknown, keys: DecryptionKeys, depth = 0): Promise<unknown> {
  if (depth > 32 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return Promise.all(value.map((v) => decryptPayloads(v, keys, depth + 1)));
  const out: Record<string, unknown> = {};
  const obj = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) out[k] = await decryptPayloads(v, keys, depth + 1);
  if (looksLikeJwe(obj.payload)) {
    const meta = typeof obj.id === 'string' && typeof obj.type === 'string' && typeof obj.time === 'string' && obj.kind !== 'record' ? { id: obj.id, type: obj.type, time: obj.time } : undefined;
    const opened = await openPayload(obj.payload, keys, meta);
    if (opened.ok) {
      out.payload = opened.value;
      out.payloadDecryption = { status: 'ok', kid: opened.kid };
    } else out.payloadDecryption = { status: 'failed', error: `${opened.reason}: ${opened.detail}` };
  }
  return out;
}

/** The relay handler. */
export async function relay(c: Context<ConnectorEnv>): Promise<Response> {
  const url = new URL(c.req.url);
  const rest = url.pathname.replace(/^\/platform/, '') || '/';
  const target = `${c.var.settings.gatehouseUrl}${rest}${url.search}`;
  const headers = new Headers();
  for (const h of FORWARDED) {
    const v = c.req.header(h);
    if (v) headers.set(h, v);
  }
  if (c.var.caller.token) headers.set('Authorization', `Bearer ${c.var.caller.token}`);
  const hasBody = !['GET', 'HEAD'].includes(c.req.method);
  let res: Response;
  try {
    res = await fetch(target, { method: c.req.method, headers, body: hasBody ? await c.req.arrayBuffer() : undefined, redirect: 'manual' });
  } catch {
    throw new Problem(502, 'Bad Gateway', { detail: 'The platform could not be reached.' });
  }
  if (res.webSocket) return res;
  const out = new Headers();
  for (const [k, v] of res.headers) if (!['content-length', 'content-encoding', 'transfer-encoding', 'set-cookie'].includes(k)) out.set(k, v);
  const type = res.headers.get('content-type') ?? '';
  if (!/^application\/(problem\+)?json\b/i.test(type)) return new Response(res.body, { status: res.status, headers: out });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return new Response(text, { status: res.status, headers: out });
  }
  const keys = await orgKeys(c.env);
  return new Response(JSON.stringify(await decryptPayloads(body, keys.decryption)), { status: res.status, headers: out });
}
