import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { streamServerFrame, type StreamServerFrame } from '../lib/records/view.ts';
import { BASE, call, expectProblem, json, signOwn } from './gateway.test-fixture.ts';
import { addMember, apiUser, createOrg, deviceToken, encryptEvent, encryptionKeyPair, putKeys, seedOrgDevice, signingKeyPair } from './orgs.test-fixture.ts';

/** Opens the stream as a client would and collects validated frames. */
async function openStream(orgId: string, token: string, after?: string) {
  const res = await exports.default.fetch(`${BASE}/api/orgs/${orgId}/records/stream${after ? `?after=${after}` : ''}`, { headers: { Upgrade: 'websocket', Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  const frames: StreamServerFrame[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason })));
  ws.addEventListener('message', (e) => {
    frames.push(streamServerFrame.parse(JSON.parse(String(e.data))));
  });
  /** Waits until `n` frames have arrived. */
  const until = async (n: number) => {
    for (let i = 0; i < 200 && frames.length < n; i++) await new Promise((r) => setTimeout(r, 20));
    expect(frames.length, JSON.stringify(frames)).toBeGreaterThanOrEqual(n);
    return frames;
  };
  return { ws, frames, until, closed };
}

async function orgWithRecords(count: number) {
  const owner = await apiUser();
  const org = await createOrg(owner.token);
  const key = await signingKeyPair();
  await putKeys(owner.token, org.id, { signingKey: key.jwk });
  const append = async (id: string) => {
    const record = { id, orgId: org.id, type: 'note', time: '2026-11-25T08:00:00Z', payload: { id } };
    const res = await call(`/api/orgs/${org.id}/records`, owner.token, json('POST', { id, type: 'note', time: record.time, payload: record.payload, signature: await key.sign(record) }));
    expect(res.status).toBe(201);
  };
  for (let i = 0; i < count; i++) await append(`old-${i}`);
  return { owner, org, append };
}

const ids = (frames: StreamServerFrame[]) => frames.flatMap((f) => (f.type === 'record' ? [f.record.id] : [f.type]));

describe('GET /api/orgs/:orgId/records/stream', () => {
  it('replays from the start, says caught_up, then pushes new records live in order', async () => {
    const { owner, org, append } = await orgWithRecords(3);
    const stream = await openStream(org.id, owner.token);
    await stream.until(4);
    expect(ids(stream.frames)).toEqual(['old-0', 'old-1', 'old-2', 'caught_up']);
    await append('live-1');
    await append('live-2');
    await stream.until(6);
    expect(ids(stream.frames).slice(4)).toEqual(['live-1', 'live-2']);
    stream.ws.close(1000, 'done');
  });

  it('pushes device events as the Device Gateway stores them (duplicates are not pushed again)', async () => {
    const { owner, org } = await orgWithRecords(1);
    const key = await encryptionKeyPair();
    await putKeys(owner.token, org.id, { encryptionKey: key.jwk });
    const device = await seedOrgDevice(org.id);
    const stream = await openStream(org.id, owner.token);
    await stream.until(2);
    const meta = { id: 'ev-1', type: 'door.opened', time: '2026-11-25T08:00:00Z' };
    const body = JSON.stringify({ events: [{ ...meta, payload: await encryptEvent(key, meta, { open: true }) }] });
    const send = async () => exports.default.fetch(`${BASE}/device-api/v1/events`, { method: 'POST', headers: { Authorization: `Bearer ${await deviceToken(device.id)}`, 'Content-Type': 'application/json' }, body });
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(200);
    await stream.until(3);
    await new Promise((r) => setTimeout(r, 200));
    expect(ids(stream.frames)).toEqual(['old-0', 'caught_up', 'ev-1']);
    expect(stream.frames[2]).toMatchObject({ type: 'record', record: { kind: 'event', deviceId: device.id, payloadFormat: 'jwe', encKid: key.kid } });
    stream.ws.close(1000);
  });

  it('resumes after a cursor (from a page or a frame) without repeating anything', async () => {
    const { owner, org, append } = await orgWithRecords(4);
    const page = (await (await call(`/api/orgs/${org.id}/records?limit=2`, owner.token)).json()) as { cursor: string };
    const first = await openStream(org.id, owner.token, page.cursor);
    await first.until(3);
    expect(ids(first.frames)).toEqual(['old-2', 'old-3', 'caught_up']);
    const frame = first.frames[0];
    first.ws.close(1000);
    await append('new-1');
    const resumed = await openStream(org.id, owner.token, frame?.type === 'record' ? frame.cursor : '');
    await resumed.until(3);
    expect(ids(resumed.frames)).toEqual(['old-3', 'new-1', 'caught_up']);
    resumed.ws.close(1000);
  });

  it('answers pings, and closes the socket on any other frame (1008)', async () => {
    const { owner, org } = await orgWithRecords(0);
    const stream = await openStream(org.id, owner.token);
    await stream.until(1);
    stream.ws.send('{"type":"ping"}');
    stream.ws.send(' { "type" : "ping" } ');
    await stream.until(3);
    expect(ids(stream.frames)).toEqual(['caught_up', 'pong', 'pong']);
    stream.ws.send('{"type":"subscribe","org":"other"}');
    expect((await stream.closed).code).toBe(1008);
    expect(stream.frames.at(-1)).toMatchObject({ type: 'error' });
  });

  it('closes a member’s stream when they are removed (4403); refuses non-members, bad cursors and plain GETs', async () => {
    const { owner, org } = await orgWithRecords(1);
    const member = await apiUser();
    await addMember(owner.token, org.id, member.user.id, 'member');
    const stream = await openStream(org.id, member.token);
    await stream.until(2);
    expect((await call(`/api/orgs/${org.id}/members/${member.user.id}`, owner.token, { method: 'DELETE' })).status).toBe(204);
    expect((await stream.closed).code).toBe(4403);
    const upgrade = (token: string, query = '') => exports.default.fetch(`${BASE}/api/orgs/${org.id}/records/stream${query}`, { headers: { Upgrade: 'websocket', Authorization: `Bearer ${token}` } });
    await expectProblem(await upgrade(member.token), 404);
    await expectProblem(await upgrade(owner.token, '?after=zz.AAAAAAAAAAAAAAAAAAAAAA'), 400);
    await expectProblem(await call(`/api/orgs/${org.id}/records/stream`, owner.token), 426);
  });

  it('closes the socket when the token it was opened with expires (4401)', async () => {
    const { owner, org } = await orgWithRecords(0);
    const now = Math.floor(Date.now() / 1000);
    const shortLived = await signOwn({ sub: owner.user.id, username: owner.user.username, client_id: 'orgs-test', iat: now, exp: now + 2 });
    const stream = await openStream(org.id, shortLived);
    await stream.until(1);
    const closed = await Promise.race([stream.closed, new Promise<null>((r) => setTimeout(() => r(null), 6000))]);
    expect(closed?.code).toBe(4401);
  });
});
