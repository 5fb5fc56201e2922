import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { createSchema, createYoga } from 'graphql-yoga';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWTVerifyGetKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { openLocalD1 } from '../../scripts/lib/local-d1.ts';
import { startLocalServer, type LocalServer } from '../../scripts/lib/local-server.ts';
import { issueAuthCode } from '../../workers/auth/store/codes.ts';
import { database } from '../../workers/db.ts';
import { E2E_REDIRECT_URI, ROOT, seedFixtures, type E2eFixtures } from './fixtures.ts';

/**
 * The gateway in front of a real GraphQL server (graphql-yoga over HTTP, SSE and graphql-ws on 127.0.0.1), standing in
 * for Hasura in JWT mode: it verifies the forwarded JWT against the platform's JWKS (or a trusted IdP's), takes the
 * role from `x-hasura-role` only if the token allows it, and echoes which `x-hasura-*` headers reached it.
 */

const HASURA = 'https://hasura.io/jwt/claims';
type Session = { sub: string; userId: string; role: string; hasuraHeaders: string[] };

const keySets = new Map<string, JWTVerifyGetKey>();
let hits = 0;

/** What Hasura does with a request: verify the JWT, pick the role, expose the session. */
async function hasuraSession(headers: Record<string, unknown>): Promise<Session> {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]));
  const token = (lower.authorization ?? '').replace(/^Bearer /, '');
  const keys = keySets.get(String(decodeJwt(token).iss));
  if (!keys) throw new Error('unknown issuer');
  const { payload } = await jwtVerify(token, keys);
  const claims = JSON.parse(String(payload[HASURA])) as Record<string, string | string[]>;
  const role = lower['x-hasura-role'] ?? String(claims['x-hasura-default-role']);
  if (!(claims['x-hasura-allowed-roles'] as string[]).includes(role)) throw new Error(`role ${role} not allowed`);
  return { sub: String(payload.sub), userId: String(claims['x-hasura-user-id']), role, hasuraHeaders: Object.keys(lower).filter((k) => k.startsWith('x-hasura-')).sort() };
}

const yoga = createYoga<{ connectionParams?: { headers?: Record<string, unknown> } }, { session: Session }>({
  graphqlEndpoint: '/v1/graphql',
  logging: false,
  context: async (init) => {
    hits++;
    const headers = init.request && !init.connectionParams ? Object.fromEntries(init.request.headers) : (init.connectionParams?.headers ?? {});
    return { session: await hasuraSession(headers) };
  },
  schema: createSchema<{ session: Session }>({
    typeDefs: /* GraphQL */ `
      type Session { sub: String!, userId: String!, role: String!, hasuraHeaders: [String!]! }
      type Tick { n: Int!, role: String! }
      type Query { whoami: Session!, big(mb: Int!): String! }
      type Subscription { ticks(n: Int!, delayMs: Int!): Tick! }
    `,
    resolvers: {
      Query: { whoami: (_: unknown, __: unknown, ctx: { session: Session }) => ctx.session, big: (_: unknown, args: { mb: number }) => 'x'.repeat(args.mb * 1024 * 1024) },
      Subscription: {
        ticks: {
          async *subscribe(_: unknown, args: { n: number; delayMs: number }, ctx: { session: Session }) {
            for (let n = 1; n <= args.n; n++) {
              if (n > 1) await new Promise((r) => setTimeout(r, args.delayMs));
              yield { ticks: { n, role: ctx.session.role } };
            }
          },
        },
      },
    },
  }),
});

/** The executors yoga's envelop hands graphql-ws (the documented yoga + graphql-ws recipe). */
type Enveloped = Pick<ReturnType<typeof yoga.getEnveloped>, 'execute' | 'subscribe'>;

let upstream: Server;
let idpUrl: string;
let idp: Server;
let server: LocalServer;
let fx: E2eFixtures;
const codes: string[] = [];
const idpKeys = await generateKeyPair('RS256', { extractable: true });
const idpJwk = { ...(await exportJWK(idpKeys.publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' };

const listen = (s: Server) => new Promise<string>((r) => s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));

beforeAll(async () => {
  upstream = createServer(yoga);
  const wss = new WebSocketServer({ server: upstream, path: '/v1/graphql' });
  useServer(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({ ...ctx, connectionParams: ctx.connectionParams, params });
        const args = { schema, operationName: params.operationName, document: parse(params.query), variableValues: params.variables, contextValue: await contextFactory(), rootValue: { execute, subscribe } };
        const errors = validate(args.schema, args.document);
        return errors.length ? errors : args;
      },
    },
    wss,
  );
  const upstreamUrl = await listen(upstream);

  idp = createServer((req, res) => {
    const base = `http://${req.headers.host}`;
    if (req.url === '/.well-known/openid-configuration') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: base, jwks_uri: `${base}/jwks` }));
    if (req.url === '/jwks') return res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' }).end(JSON.stringify({ keys: [idpJwk] }));
    res.writeHead(404).end();
  });
  idpUrl = await listen(idp);
  keySets.set(idpUrl, createLocalJWKSet({ keys: [idpJwk] }));

  server = await startLocalServer({
    root: ROOT,
    vars: { HASURA_GRAPHQL_URL: `${upstreamUrl}/v1/graphql`, TRUSTED_ISSUERS: JSON.stringify([{ issuer: idpUrl, audience: 'e2e-external', name: 'localidp' }]) },
    prepare: async (ctx) => {
      fx = await seedFixtures(ctx);
      const local = await openLocalD1({ configPath: ctx.configPath, stateDir: ctx.stateDir });
      try {
        for (let i = 0; i < 3; i++) {
          codes.push(await issueAuthCode(database(local.db), { clientId: fx.confidentialClient.clientId, userId: fx.user.id, redirectUri: E2E_REDIRECT_URI, scopes: ['openid', 'email'], nonce: null, codeChallenge: null, codeChallengeMethod: null, authTime: Date.now() }, Date.now() + 600_000));
        }
      } finally {
        await local.dispose();
      }
    },
  });
  keySets.set(server.url, createRemoteJWKSet(new URL(`${server.url}/.well-known/jwks.json`)));
}, 120_000);

afterAll(async () => {
  await server?.stop();
  for (const s of [upstream, idp]) {
    s?.closeAllConnections();
    await new Promise((r) => s?.close(r));
  }
});

/** An ID token for the fixture user, from a code seeded before the server started. */
async function idToken(): Promise<string> {
  const res = await fetch(`${server.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${btoa(`${fx.confidentialClient.clientId}:${fx.confidentialClient.clientSecret}`)}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: codes.pop()!, redirect_uri: E2E_REDIRECT_URI }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id_token: string }).id_token;
}

const graphql = (token: string, query: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/v1/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers }, body: JSON.stringify({ query }) });

describe('gateway → real GraphQL server (Hasura stand-in)', () => {
  let token: string;
  beforeAll(async () => {
    token = await idToken();
  });

  it('forwards the JWT, which the upstream verifies; spoofed x-hasura-* headers never arrive', async () => {
    const res = await graphql(token, '{ whoami { sub userId role hasuraHeaders } }', { 'x-hasura-user-id': 'someone-else', 'x-hasura-admin-secret': 'guess' });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: { whoami: Session } };
    expect(data.whoami).toEqual({ sub: fx.user.id, userId: fx.user.id, role: 'editor', hasuraHeaders: [] });
  });

  it('passes an allowed x-hasura-role and refuses another with 403 before the upstream sees it', async () => {
    const res = await graphql(token, '{ whoami { role hasuraHeaders } }', { 'x-hasura-role': 'viewer' });
    expect(((await res.json()) as { data: { whoami: Session } }).data.whoami).toEqual({ role: 'viewer', hasuraHeaders: ['x-hasura-role'] });
    const before = hits;
    const denied = await graphql(token, '{ whoami { role } }', { 'x-hasura-role': 'admin' });
    expect(denied.status).toBe(403);
    expect(denied.headers.get('content-type')).toBe('application/problem+json');
    expect(hits).toBe(before);
    expect((await graphql('not-a-token', '{ whoami { role } }')).status).toBe(401);
  });

  it('runs a subscription over WebSocket (graphql-transport-ws) with the token in connection_init', async () => {
    const client = createClient({
      url: `${server.url.replace('http', 'ws')}/v1/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { headers: { Authorization: `Bearer ${token}`, 'x-hasura-user-id': 'spoofed', 'x-hasura-role': 'viewer' } },
      retryAttempts: 0,
    });
    const ticks: { n: number; role: string }[] = [];
    const whoami = await new Promise<Session>((resolve, reject) => {
      let result: Session | undefined;
      client.subscribe<{ whoami: Session }>({ query: '{ whoami { sub userId role hasuraHeaders } }' }, { next: (v) => (result = v.data?.whoami), error: reject, complete: () => resolve(result!) });
    });
    await new Promise<void>((resolve, reject) => {
      client.subscribe<{ ticks: { n: number; role: string } }>({ query: 'subscription { ticks(n: 3, delayMs: 50) { n role } }' }, { next: (v) => ticks.push(v.data!.ticks), error: reject, complete: resolve });
    });
    await client.dispose();
    expect(whoami).toEqual({ sub: fx.user.id, userId: fx.user.id, role: 'viewer', hasuraHeaders: ['x-hasura-role'] });
    expect(ticks).toEqual([1, 2, 3].map((n) => ({ n, role: 'viewer' })));
  });

  it('closes a WebSocket whose connection_init carries no valid token with 4403', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/graphql`, 'graphql-transport-ws');
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'connection_init', payload: { headers: { Authorization: 'Bearer forged' } } }));
    const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
    expect(code).toBe(4403);
  });

  it('streams a 20 MB response intact', async () => {
    const res = await graphql(token, '{ big(mb: 20) }');
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let bytes = 0;
    let chunks = 0;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      bytes += r.value.length;
      chunks++;
    }
    expect(bytes).toBe(20 * 1024 * 1024 + '{"data":{"big":""}}'.length);
    expect(chunks).toBeGreaterThan(1);
  });

  it('streams as the upstream produces: SSE events arrive as they happen, not at the end', async () => {
    const res = await fetch(`${server.url}/v1/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: 'subscription { ticks(n: 3, delayMs: 700) { n } }' }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const arrivals: number[] = [];
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      const before = (text.match(/event: next/g) ?? []).length;
      text += r.value;
      for (let i = before; i < (text.match(/event: next/g) ?? []).length; i++) arrivals.push(Date.now());
    }
    expect(arrivals).toHaveLength(3);
    expect(arrivals[2]! - arrivals[0]!).toBeGreaterThan(1000);
  });

  it('accepts tokens of a trusted external issuer (TRUSTED_ISSUERS), and creates their profile on first call', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { [HASURA]: JSON.stringify({ 'x-hasura-user-id': 'ext-42', 'x-hasura-default-role': 'viewer', 'x-hasura-allowed-roles': ['viewer'] }), email: 'ext@example.com' };
    const sign = (aud: string) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'idp-1' }).setIssuer(idpUrl).setAudience(aud).setSubject('ext-42').setIssuedAt(now).setExpirationTime(now + 300).sign(idpKeys.privateKey);
    const external = await sign('e2e-external');
    const res = await graphql(external, '{ whoami { sub role } }');
    expect(((await res.json()) as { data: { whoami: Session } }).data.whoami).toEqual({ sub: 'ext-42', role: 'viewer' });
    expect((await graphql(await sign('someone-else'), '{ whoami { sub } }')).status).toBe(401);
    const me = await fetch(`${server.url}/api/users/me`, { headers: { authorization: `Bearer ${external}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ email: 'ext@example.com', displayName: 'ext', federatedIssuer: 'localidp' });
  });
});
