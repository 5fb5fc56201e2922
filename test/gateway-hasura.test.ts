import { describe, expect, it } from 'vitest';
import { callWith, expectProblem, signIn, type SignedIn } from './gateway.test-fixture.ts';

/**
 * The Hasura proxy in workerd, against a stand-in upstream given as a `HASURA` service binding (the real GraphQL server
 * over the network is in test/e2e/gateway-hasura.test.ts).
 */

type Seen = { method: string; url: string; headers: Record<string, string>; body: string };

/** An upstream that records each request and answers with `answer` (default: echo as JSON). */
function upstream(answer?: (req: Request) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  return {
    seen,
    binding: {
      fetch: async (req: Request) => {
        const body = await req.text();
        seen.push({ method: req.method, url: req.url, headers: Object.fromEntries(req.headers), body });
        return answer ? answer(req) : Response.json({ ok: true });
      },
    },
  };
}

const post = (headers: Record<string, string> = {}, body: BodyInit = '{"query":"{ me { id } }"}'): RequestInit => ({
  method: 'POST',
  body,
  headers: { 'content-type': 'application/json', ...headers },
});

describe('Hasura proxy: ANY /v1/graphql', () => {
  let who: SignedIn;
  const token = async () => (who ??= await signIn()).access;

  it('forwards method, query, body and Authorization; drops spoofed x-hasura-* and edge headers; adds forwarding fields', async () => {
    const up = upstream();
    const res = await callWith({ HASURA: up.binding, HASURA_GRAPHQL_URL: 'http://hasura.internal/v1/graphql' }, '/v1/graphql?op=Me', await token(), post({
      'x-hasura-user-id': 'someone-else',
      'x-hasura-admin-secret': 'guess',
      'X-Hasura-Role': 'editor',
      cookie: 'gh_session=secret',
      connection: 'keep-alive, x-hop',
      'x-hop': 'must go',
      te: 'trailers',
      'cf-connecting-ip': '203.0.113.9',
      'x-forwarded-for': '10.0.0.1',
      'x-app': 'kept',
    }));
    expect(res.status).toBe(200);
    const [req] = up.seen;
    expect(req).toMatchObject({ method: 'POST', url: 'http://hasura.internal/v1/graphql?op=Me', body: '{"query":"{ me { id } }"}' });
    const h = req!.headers;
    expect(h.authorization).toBe(`Bearer ${await token()}`);
    expect(h['x-hasura-role']).toBe('editor');
    expect(Object.keys(h).filter((k) => k.startsWith('x-hasura-'))).toEqual(['x-hasura-role']);
    for (const gone of ['cookie', 'connection', 'x-hop', 'te']) expect(h).not.toHaveProperty(gone);
    expect(h).toMatchObject({ 'x-app': 'kept', 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'gatehouse.test', via: '1.1 gatehouse' });
    expect(h['x-request-id']).toMatch(/.+/);
  });

  it('refuses an x-hasura-role the token does not allow with 403, before reaching the upstream', async () => {
    const up = upstream();
    const body = await expectProblem(await callWith({ HASURA: up.binding }, '/v1/graphql', await token(), post({ 'x-hasura-role': 'admin' })), 403);
    expect(body.type).toBe('urn:gatehouse:problem:role-not-allowed');
    expect(up.seen).toHaveLength(0);
  });

  it('returns the upstream status and headers minus hop-by-hop fields and cookies', async () => {
    const up = upstream(() => new Response('{"errors":[]}', {
      status: 207,
      headers: { 'content-type': 'application/json', connection: 'x-internal', 'x-internal': 'secret', 'keep-alive': 'timeout=5', 'set-cookie': 'a=b', 'x-upstream': 'yes' },
    }));
    const res = await callWith({ HASURA: up.binding }, '/v1/graphql', await token(), post());
    expect(res.status).toBe(207);
    expect(await res.text()).toBe('{"errors":[]}');
    expect(res.headers.get('x-upstream')).toBe('yes');
    for (const gone of ['x-internal', 'keep-alive', 'set-cookie']) expect(res.headers.has(gone)).toBe(false);
    expect(res.headers.get('via')).toContain('1.1 gatehouse');
  });

  it('streams a large response and a streamed request body without changing a byte', async () => {
    const chunk = new Uint8Array(64 * 1024).map((_, i) => i % 251);
    const chunks = 80; // 5 MiB
    const up = upstream((req) => {
      let sent = 0;
      return new Response(new ReadableStream({
        pull(controller) {
          if (sent++ < chunks) controller.enqueue(chunk);
          else controller.close();
        },
      }), { headers: { 'content-type': 'application/octet-stream', 'x-got': req.headers.get('content-type') ?? '' } });
    });
    const body = new ReadableStream({
      start(controller) {
        for (const part of ['{"query":', '"{ big }"}']) controller.enqueue(new TextEncoder().encode(part));
        controller.close();
      },
    });
    const res = await callWith({ HASURA: up.binding }, '/v1/graphql', await token(), post({}, body));
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let total = 0;
    let intact = true;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      for (let i = 0; i < r.value.length; i++) if (r.value[i] !== (total + i) % (64 * 1024) % 251) intact = false;
      total += r.value.length;
    }
    expect(total).toBe(chunks * chunk.length);
    expect(intact).toBe(true);
    expect(up.seen[0]?.body).toBe('{"query":"{ big }"}');
  });

  it('answers 503 when no upstream is configured, 502 when it cannot be reached, 504 when it does not answer', async () => {
    const t = await token();
    const unset = await expectProblem(await callWith({}, '/v1/graphql', t, post()), 503);
    expect(unset.detail).toMatch(/not configured/);
    const down = await expectProblem(await callWith({ HASURA_GRAPHQL_URL: 'http://127.0.0.1:1/v1/graphql' }, '/v1/graphql', t, post()), 502);
    expect(down.type).toBe('urn:gatehouse:problem:upstream-unavailable');
    const hang = { fetch: () => new Promise<Response>(() => {}) };
    const started = Date.now();
    await expectProblem(await callWith({ HASURA: hang, HASURA_TIMEOUT_MS: '300' }, '/v1/graphql', t, post()), 504);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('authenticates before anything else: no token, no upstream call', async () => {
    const up = upstream();
    const res = await callWith({ HASURA: up.binding }, '/v1/graphql', null, post());
    expect(res.status).toBe(401);
    expect(up.seen).toHaveLength(0);
  });
});
