/**
 * Local stand-ins for the services the notification consumer talks to, each checking what a real one checks:
 * a Web Push service that verifies the VAPID JWT and decrypts with the independent `http_ece` implementation, an FCM
 * with its OAuth token endpoint that verifies the JWT grant, and Standard Webhooks receivers. 127.0.0.1 only.
 */
import { createECDH, createHmac, randomBytes, timingSafeEqual, type ECDH } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decrypt } from 'http_ece';
import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';

/** A request a stand-in received, with its verdict. */
export type Received = { path: string; at: number; headers: IncomingMessage['headers']; body: Buffer; json?: unknown; problem?: string };

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => Promise<void> | void;

/** Starts an HTTP server on 127.0.0.1 with a free port. */
export async function listen(handler: Handler): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      Promise.resolve(handler(req, Buffer.concat(chunks), res)).catch((err: unknown) => res.writeHead(500).end(String(err)));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, server, close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

/** A browser's push subscription: its ECDH key pair and auth secret stay here; the JSON goes to Gatehouse. */
export type BrowserKeys = { ecdh: ECDH; auth: Buffer; json: (endpoint: string) => { endpoint: string; keys: { p256dh: string; auth: string } } };

/** Makes the keys a browser would (P-256 ECDH, 16-byte auth secret). */
export function browserKeys(): BrowserKeys {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return { ecdh, auth, json: (endpoint) => ({ endpoint, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } }) };
}

/** The Web Push service: `/push/<name>` decrypts for the registered browser; `/push/gone-*` answers 410. */
export async function webPushService() {
  const browsers = new Map<string, BrowserKeys>();
  const received: Received[] = [];
  const svc = await listen(async (req, body, res) => {
    const path = req.url ?? '';
    const entry: Received = { path, at: Date.now(), headers: req.headers, body };
    if (path.startsWith('/push/gone-')) {
      received.push(entry);
      return void res.writeHead(410).end();
    }
    const browser = browsers.get(path);
    const problem = await checkPush(req, svc.url, body, browser, entry);
    // Listed only with its verdict, so a test that finds it never sees a half-checked request.
    received.push(entry);
    if (problem) {
      entry.problem = problem;
      return void res.writeHead(400).end(problem);
    }
    res.writeHead(201, { Location: `${svc.url}/message/${received.length}` }).end();
  });
  return { ...svc, received, register: (path: string, keys: BrowserKeys) => browsers.set(path, keys) };
}

/** What a push service checks (RFC 8030 §5, RFC 8292 §2-3), then the RFC 8291 decryption with `http_ece`. */
async function checkPush(req: IncomingMessage, origin: string, body: Buffer, browser: BrowserKeys | undefined, entry: Received): Promise<string | undefined> {
  if (!browser) return 'unknown subscription';
  if (req.headers['content-encoding'] !== 'aes128gcm') return 'Content-Encoding must be aes128gcm';
  if (!/^\d+$/.test(String(req.headers.ttl))) return 'TTL missing';
  const m = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(req.headers.authorization ?? '');
  if (!m?.[1] || !m[2]) return 'Authorization is not vapid t=…, k=…';
  const k = Buffer.from(m[2], 'base64url');
  const key = (await importJWK({ kty: 'EC', crv: 'P-256', x: k.subarray(1, 33).toString('base64url'), y: k.subarray(33).toString('base64url') }, 'ES256'));
  try {
    if (decodeProtectedHeader(m[1]).alg !== 'ES256') return 'VAPID alg must be ES256';
    const { payload } = await jwtVerify(m[1], key, { audience: origin, algorithms: ['ES256'] });
    if (!payload.exp || payload.exp > Date.now() / 1000 + 24 * 3600) return 'VAPID exp more than 24 h ahead';
    if (!String(payload.sub).startsWith('mailto:')) return 'VAPID sub is not mailto:';
  } catch (err) {
    return `VAPID JWT rejected: ${err instanceof Error ? err.message : String(err)}`;
  }
  try {
    entry.json = JSON.parse(decrypt(body, { version: 'aes128gcm', privateKey: browser.ecdh, authSecret: browser.auth }).toString('utf8'));
  } catch (err) {
    return `decryption failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  return undefined;
}

/** A Standard Webhooks receiver verifying each signature with node:crypto; `status` picks its answer. */
export async function webhookReceiver(status: (received: Received[]) => number) {
  const secrets = new Map<string, string>();
  const received: Received[] = [];
  const svc = await listen((req, body, res) => {
    const path = req.url ?? '';
    const entry: Received = { path, at: Date.now(), headers: req.headers, body };
    received.push(entry);
    const secret = Buffer.from((secrets.get(path) ?? '').replace(/^whsec_/, ''), 'base64');
    const id = String(req.headers['webhook-id']);
    const ts = String(req.headers['webhook-timestamp']);
    const expected = Buffer.from(`v1,${createHmac('sha256', secret).update(`${id}.${ts}.${body.toString('utf8')}`).digest('base64')}`);
    const offered = String(req.headers['webhook-signature'] ?? '').split(' ').map((s) => Buffer.from(s));
    if (!offered.some((s) => s.length === expected.length && timingSafeEqual(s, expected))) entry.problem = 'bad signature';
    else if (Math.abs(Date.now() / 1000 - Number(ts)) > 300) entry.problem = 'stale timestamp';
    else entry.json = JSON.parse(body.toString('utf8'));
    res.writeHead(entry.problem ? 401 : status(received)).end();
  });
  return { ...svc, received, register: (path: string, secret: string) => secrets.set(path, secret) };
}

/** FCM HTTP v1 and its OAuth token endpoint; messages:send answers from `script` in turn. */
export async function fcmService(account: { email: string; publicKey: CryptoKey; projectId: string }, script: (() => [number, unknown, Record<string, string>?])[]) {
  const received: Received[] = [];
  const tokens = new Set<string>();
  const svc = await listen(async (req, body, res) => {
    const path = req.url ?? '';
    const entry: Received = { path, at: Date.now(), headers: req.headers, body };
    if (path === '/token') {
      const form = new URLSearchParams(body.toString('utf8'));
      try {
        if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') throw new Error('grant_type');
        const { payload } = await jwtVerify(form.get('assertion') ?? '', account.publicKey, { audience: `${svc.url}/token`, issuer: account.email, algorithms: ['RS256'] });
        if (payload.scope !== 'https://www.googleapis.com/auth/firebase.messaging') throw new Error('scope');
      } catch (err) {
        entry.problem = `grant rejected: ${err instanceof Error ? err.message : String(err)}`;
        received.push(entry);
        return void res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_grant"}');
      }
      const token = `ya29.${randomBytes(12).toString('hex')}`;
      tokens.add(token);
      received.push(entry);
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: token, expires_in: 3599, token_type: 'Bearer' }));
    }
    received.push(entry);
    if (path !== `/v1/projects/${account.projectId}/messages:send` || !tokens.has(String(req.headers.authorization).replace(/^Bearer /, ''))) {
      entry.problem = 'unauthorised or wrong path';
      return void res.writeHead(401).end();
    }
    entry.json = JSON.parse(body.toString('utf8'));
    const [status, answer, headers] = script.shift()?.() ?? [500, { error: { status: 'INTERNAL' } }];
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(answer));
  });
  return { ...svc, received };
}
