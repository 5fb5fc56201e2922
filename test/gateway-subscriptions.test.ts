import { describe, expect, it } from 'vitest';
import { callWith, signIn } from './gateway.test-fixture.ts';

/**
 * The graphql-ws relay in workerd, against a stand-in upstream (a `HASURA` binding answering the upgrade with a
 * WebSocketPair) that speaks just enough graphql-transport-ws: ack the init, answer a subscribe with one `next`.
 */

type Frame = { type: string; id?: string; payload?: Record<string, unknown> };

function fakeHasura() {
  const inits: Frame[] = [];
  const upgrades: Record<string, string>[] = [];
  return {
    inits,
    upgrades,
    binding: {
      fetch: async (req: Request) => {
        upgrades.push(Object.fromEntries(req.headers));
        const pair = new WebSocketPair();
        const server = pair[1];
        server.accept();
        server.addEventListener('message', (e) => {
          const frame = JSON.parse(String(e.data)) as Frame;
          if (frame.type === 'connection_init') {
            inits.push(frame);
            server.send(JSON.stringify({ type: 'connection_ack' }));
          } else if (frame.type === 'subscribe') {
            server.send(JSON.stringify({ id: frame.id, type: 'next', payload: { data: { tick: 1 } } }));
            server.send(JSON.stringify({ id: frame.id, type: 'complete' }));
          }
        });
        return new Response(null, { status: 101, webSocket: pair[0], headers: { 'Sec-WebSocket-Protocol': 'graphql-transport-ws' } });
      },
    },
  };
}

/** Opens a relayed socket; resolves with it, its received frames and a promise of its close event. */
async function connect(vars: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await callWith(vars, '/v1/graphql', null, { headers: { Upgrade: 'websocket', 'Sec-WebSocket-Protocol': 'graphql-transport-ws', ...headers } });
  expect(res.status).toBe(101);
  expect(res.headers.get('sec-websocket-protocol')).toBe('graphql-transport-ws');
  const ws = res.webSocket!;
  ws.accept();
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  ws.addEventListener('message', (e) => {
    frames.push(JSON.parse(String(e.data)) as Frame);
    waiters.splice(0).forEach((w) => w());
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason })));
  const next = async (type: string) => {
    while (!frames.some((f) => f.type === type)) await new Promise<void>((r) => waiters.push(r));
    return frames.find((f) => f.type === type)!;
  };
  return { ws, frames, closed, next };
}

describe('GraphQL subscriptions over WebSocket (graphql-transport-ws)', () => {
  it('authenticates connection_init, sanitises its headers, and relays frames both ways', async () => {
    const { access } = await signIn();
    const hasura = fakeHasura();
    const s = await connect({ HASURA: hasura.binding });
    s.ws.send(JSON.stringify({ type: 'connection_init', payload: { headers: { Authorization: `Bearer ${access}`, 'x-hasura-user-id': 'spoofed', 'X-Hasura-Role': 'editor', 'x-app': 'kept' }, 'x-hasura-admin-secret': 'guess' } }));
    await s.next('connection_ack');
    s.ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { tick }' } }));
    expect((await s.next('next')).payload).toEqual({ data: { tick: 1 } });
    await s.next('complete');
    expect(hasura.inits[0]?.payload).toEqual({ headers: { Authorization: `Bearer ${access}`, 'x-hasura-role': 'editor', 'x-app': 'kept' } });
    expect(hasura.upgrades[0]).toMatchObject({ upgrade: 'websocket', 'sec-websocket-protocol': 'graphql-transport-ws', authorization: `Bearer ${access}`, 'x-hasura-role': 'editor' });
    s.ws.close(1000, 'done');
  });

  it('accepts the token from the upgrade request too (non-browser clients)', async () => {
    const { access } = await signIn();
    const hasura = fakeHasura();
    const s = await connect({ HASURA: hasura.binding }, { Authorization: `Bearer ${access}` });
    s.ws.send(JSON.stringify({ type: 'connection_init' }));
    await s.next('connection_ack');
    expect(hasura.inits[0]?.payload).toEqual({ headers: { Authorization: `Bearer ${access}` } });
    s.ws.close(1000);
  });

  it('closes with 4403 for a bad token or a role the token does not allow, and 4400 when the first frame is not connection_init', async () => {
    const { access } = await signIn();
    const cases: [Frame | string, number][] = [
      [{ type: 'connection_init', payload: { headers: { Authorization: 'Bearer nope' } } }, 4403],
      [{ type: 'connection_init', payload: {} }, 4403],
      [{ type: 'connection_init', payload: { headers: { Authorization: `Bearer ${access}`, 'x-hasura-role': 'admin' } } }, 4403],
      [{ type: 'subscribe', id: '1' }, 4400],
      ['not json', 4400],
    ];
    for (const [first, code] of cases) {
      const hasura = fakeHasura();
      const s = await connect({ HASURA: hasura.binding });
      s.ws.send(typeof first === 'string' ? first : JSON.stringify(first));
      expect((await s.closed).code).toBe(code);
      expect(hasura.upgrades).toHaveLength(0);
    }
  });

  it('refuses an upgrade without the graphql-ws subprotocol, and an early bad token, before upgrading', async () => {
    const hasura = fakeHasura();
    const plain = await callWith({ HASURA: hasura.binding }, '/v1/graphql', null, { headers: { Upgrade: 'websocket' } });
    expect(plain.status).toBe(400);
    const bad = await callWith({ HASURA: hasura.binding }, '/v1/graphql', 'garbage', { headers: { Upgrade: 'websocket', 'Sec-WebSocket-Protocol': 'graphql-transport-ws' } });
    expect(bad.status).toBe(401);
  });

  it('closes with 4502 when the upstream refuses the WebSocket', async () => {
    const { access } = await signIn();
    const s = await connect({ HASURA: { fetch: async () => new Response('no', { status: 503 }) } });
    s.ws.send(JSON.stringify({ type: 'connection_init', payload: { headers: { Authorization: `Bearer ${access}` } } }));
    expect((await s.closed).code).toBe(4502);
  });
});
