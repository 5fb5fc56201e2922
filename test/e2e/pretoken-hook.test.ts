import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../../scripts/lib/local-server.ts';
import { ROOT, seedFixtures, type E2eFixtures } from './fixtures.ts';
import { browserLogin } from './util/browser-login.ts';

/**
 * The external pre-token-generation hook, against a second local Worker whose PRE_TOKEN_HOOK_URL points at a real
 * HTTP server in this test. The server records each Cognito-shaped event and answers as the current mode says.
 */
type Mode = 'moped-v1' | 'v2' | 'slow' | 'error' | 'garbage';
let mode: Mode = 'moped-v1';
const events: Record<string, unknown>[] = [];
let hook: Server;
let server: LocalServer;
let fx: E2eFixtures;

const MOPED_CLAIMS = { 'x-hasura-user-id': 'moped-42', 'x-hasura-default-role': 'moped-editor', 'x-hasura-allowed-roles': ['moped-editor', 'moped-viewer'] };

function answer(event: Record<string, unknown>): { status: number; body: string; delayMs?: number } {
  switch (mode) {
    case 'moped-v1':
      // What the Moped Lambda returns: the Hasura claims as a JSON string under the namespace, ID token only.
      return { status: 200, body: JSON.stringify({ ...event, response: { claimsOverrideDetails: { claimsToAddOrOverride: { 'https://hasura.io/jwt/claims': JSON.stringify(MOPED_CLAIMS) } } } }) };
    case 'v2':
      return {
        status: 200,
        body: JSON.stringify({
          response: {
            claimsAndScopeOverrideDetails: {
              idTokenGeneration: { claimsToAddOrOverride: { department: 'roads', sub: 'hijack' }, claimsToSuppress: ['email'] },
              accessTokenGeneration: { claimsToAddOrOverride: { tenant: 'atx' }, scopesToAdd: ['api/read'], scopesToSuppress: ['profile'] },
            },
          },
        }),
      };
    case 'slow':
      return { status: 200, body: JSON.stringify({ response: { claimsOverrideDetails: {} } }), delayMs: 4000 };
    case 'error':
      return { status: 500, body: 'boom' };
    case 'garbage':
      return { status: 200, body: '<html>not json</html>' };
  }
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => resolve(data));
  });

beforeAll(async () => {
  hook = createServer(async (req, res) => {
    const event = JSON.parse(await readBody(req)) as Record<string, unknown>;
    events.push(event);
    const { status, body, delayMs } = answer(event);
    setTimeout(() => res.writeHead(status, { 'Content-Type': 'application/json' }).end(body), delayMs ?? 0);
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/pretoken`;
  server = await startLocalServer({
    root: ROOT,
    vars: { PRE_TOKEN_HOOK_URL: hookUrl },
    prepare: async (ctx) => {
      fx = await seedFixtures(ctx);
    },
  });
}, 120_000);

afterAll(async () => {
  await server?.stop();
  hook?.closeAllConnections();
  await new Promise((r) => hook?.close(r));
});

async function signIn(scope = 'openid email profile') {
  const url = new URL(`${server.url}/oauth2/authorize`);
  url.search = new URLSearchParams({ response_type: 'code', client_id: fx.confidentialClient.clientId, redirect_uri: fx.redirectUri, scope, state: 'st' }).toString();
  const callback = await browserLogin(url.href, fx.user);
  return fetch(`${server.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${btoa(`${fx.confidentialClient.clientId}:${fx.confidentialClient.clientSecret}`)}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: callback.searchParams.get('code')!, redirect_uri: fx.redirectUri }),
  });
}

describe('pre-token generation hook', () => {
  it('sends a Cognito-shaped event and applies a Moped-style V1 answer to the ID token', async () => {
    mode = 'moped-v1';
    events.length = 0;
    const res = await signIn();
    expect(res.status).toBe(200);
    const tokens = (await res.json()) as { id_token: string; access_token: string; refresh_token: string };
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      version: '1',
      triggerSource: 'TokenGeneration_HostedAuth',
      region: 'local-1',
      userPoolId: 'local-1_gatehouse',
      userName: fx.user.email,
      callerContext: { clientId: fx.confidentialClient.clientId },
      request: { userAttributes: { sub: fx.user.id, email: fx.user.email }, groupConfiguration: { groupsToOverride: ['editors'] } },
      response: { claimsOverrideDetails: null },
    });
    expect(JSON.parse(decodeJwt(tokens.id_token)['https://hasura.io/jwt/claims'] as string)).toEqual(MOPED_CLAIMS);

    events.length = 0;
    const refreshed = await fetch(`${server.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: fx.confidentialClient.clientId, client_secret: fx.confidentialClient.clientSecret }),
    });
    expect(refreshed.status).toBe(200);
    expect(events[0]?.triggerSource).toBe('TokenGeneration_RefreshTokens');
  });

  it('applies V2 answers per token, with suppression and protected claims', async () => {
    mode = 'v2';
    const tokens = (await (await signIn()).json()) as { id_token: string; access_token: string };
    const id = decodeJwt(tokens.id_token);
    expect(id.department).toBe('roads');
    expect(id.sub).toBe(fx.user.id);
    expect(id.email).toBeUndefined();
    const access = decodeJwt(tokens.access_token);
    expect(access.tenant).toBe('atx');
    expect(access.scope).toBe('openid email api/read');
  });

  it.each([
    ['slow', /did not answer within 3000 ms/],
    ['error', /HTTP 500/],
    ['garbage', /not JSON/],
  ] as const)('fails the sign-in closed when the hook is %s', async (m, message) => {
    mode = m;
    const res = await signIn();
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; error_description: string };
    expect(body.error).toBe('invalid_grant');
    expect(body.error_description).toMatch(message);
  }, 20_000);
});
