/**
 * End to end against the running Worker: paging the organisation log with cursors while records are appended
 * concurrently (nothing lost or repeated), the WebSocket stream (replay, caught_up, live, resume), and signed records
 * (verified on write, re-verifiable by any reader; tampered or unknown-kid records refused).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import type { RecordContent } from '../../lib/records/canonical.ts';
import { verifyRecordSignature } from '../../lib/records/signature.ts';
import { streamServerFrame, type RecordView, type StreamServerFrame } from '../../lib/records/view.ts';
import { api, orgKeyPairs, userToken } from './records-harness.ts';

const baseUrl = inject('baseUrl');
const user = inject('fixtures').user;
let token = '';
let orgId = '';
let keys: Awaited<ReturnType<typeof orgKeyPairs>>;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  token = await userToken(baseUrl, inject('secrets').JWT_SIGNING_KEYS ?? '', { id: user.id, username: user.email });
  orgId = (await api<{ id: string }>(baseUrl, token, '/api/orgs', { method: 'POST', body: { name: 'E2E log' } })).body.id;
  keys = await orgKeyPairs();
  expect((await api(baseUrl, token, `/api/orgs/${orgId}/keys`, { method: 'PUT', body: { signingKey: keys.signingKey } })).status).toBe(200);
});
afterAll(() => sockets.forEach((s) => s.terminate()));

const recordOf = (id: string, payload: RecordContent['payload'] = { id }): RecordContent => ({ id, orgId, type: 'ledger.entry', time: new Date().toISOString(), payload });
async function append(id: string) {
  const record = recordOf(id);
  const { orgId: _, ...body } = record;
  const res = await api<{ status: string }>(baseUrl, token, `/api/orgs/${orgId}/records`, { method: 'POST', body: { ...body, signature: await keys.sign(record) } });
  expect(res.status).toBe(201);
}
type Page = { records: RecordView[]; cursor: string; hasMore: boolean };
const page = async (after: string | undefined, limit: number) => (await api<Page>(baseUrl, token, `/api/orgs/${orgId}/records?limit=${limit}${after ? `&after=${after}` : ''}`)).body;

/** Opens the stream with the `ws` client; frames are validated with the shared schema. */
function openStream(after?: string) {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/orgs/${orgId}/records/stream${after ? `?after=${after}` : ''}`, { headers: { Authorization: `Bearer ${token}` } });
  sockets.push(ws);
  const frames: StreamServerFrame[] = [];
  ws.on('message', (data: Buffer) => {
    frames.push(streamServerFrame.parse(JSON.parse(data.toString())));
  });
  const until = async (predicate: (f: StreamServerFrame[]) => boolean, what: string) => {
    for (let i = 0; i < 300 && !predicate(frames); i++) await new Promise((r) => setTimeout(r, 50));
    expect(predicate(frames), `${what}: ${JSON.stringify(frames.map((f) => (f.type === 'record' ? f.record.id : f.type)))}`).toBe(true);
  };
  return { ws, frames, until, opened: new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject)) };
}
const recordIds = (frames: StreamServerFrame[]) => frames.flatMap((f) => (f.type === 'record' ? [f.record.id] : []));

describe('the organisation log, end to end', () => {
  it('pages with cursors while records are appended concurrently, losing and repeating nothing', async () => {
    for (let i = 0; i < 10; i++) await append(`seed-${i}`);
    const writers = (async () => {
      for (let i = 0; i < 25; i++) await Promise.all([append(`live-${i}-a`), append(`live-${i}-b`)]);
    })();
    const seen: string[] = [];
    let cursor: string | undefined;
    let writing = true;
    void writers.finally(() => (writing = false));
    for (let i = 0; i < 500; i++) {
      const p = await page(cursor, 7);
      seen.push(...p.records.map((r) => r.id));
      cursor = p.cursor;
      if (!writing && !p.hasMore) break;
    }
    await writers;
    seen.push(...(await page(cursor, 500)).records.map((r) => r.id));
    const all = (await page(undefined, 500)).records.map((r) => r.id);
    expect(all).toHaveLength(60);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(all);
  });

  it('streams: replays after the cursor, says caught_up, delivers live appends, and resumes from a frame cursor', async () => {
    const start = (await page(undefined, 500)).cursor;
    await append('stream-old-1');
    await append('stream-old-2');
    const stream = openStream(start);
    await stream.opened;
    await stream.until((f) => f.some((x) => x.type === 'caught_up'), 'caught up');
    expect(stream.frames.map((f) => (f.type === 'record' ? f.record.id : f.type))).toEqual(['stream-old-1', 'stream-old-2', 'caught_up']);
    await append('stream-live-1');
    await append('stream-live-2');
    await stream.until((f) => recordIds(f).length === 4, 'live records');
    expect(recordIds(stream.frames)).toEqual(['stream-old-1', 'stream-old-2', 'stream-live-1', 'stream-live-2']);
    const third = stream.frames.filter((f) => f.type === 'record')[2];
    stream.ws.close();
    const resumed = openStream(third?.type === 'record' ? third.cursor : '');
    await resumed.opened;
    await resumed.until((f) => f.some((x) => x.type === 'caught_up'), 'resumed');
    expect(recordIds(resumed.frames)).toEqual(['stream-live-2']);
  });

  it('verifies signed records on write; readers re-verify them with the published key; tampered or unknown-kid records are refused', async () => {
    await append('signed-1');
    const [stored] = (await page(undefined, 500)).records.filter((r) => r.id === 'signed-1');
    const org = (await api<{ keys: { signing: { kid: string; status: 'active' | 'retired'; jwk: Record<string, unknown> }[] } }>(baseUrl, token, `/api/orgs/${orgId}`)).body;
    const lookup = (kid: string) => org.keys.signing.find((k) => k.kid === kid);
    const content = { id: stored!.id, orgId, type: stored!.type, time: stored!.time, payload: stored!.payload as RecordContent['payload'] };
    expect(await verifyRecordSignature(content, stored!.signature ?? '', lookup)).toEqual({ ok: true, kid: keys.sigKid });
    expect(await verifyRecordSignature({ ...content, payload: { id: 'forged' } }, stored!.signature ?? '', lookup)).toMatchObject({ ok: false, reason: 'bad_signature' });

    const record = recordOf('tampered-1', { amount: 10 });
    const signature = await keys.sign(record);
    const tampered = await api<{ errors: { message: string }[] }>(baseUrl, token, `/api/orgs/${orgId}/records`, { method: 'POST', body: { id: record.id, type: record.type, time: record.time, payload: { amount: 1000 }, signature } });
    expect([tampered.status, tampered.body.errors[0]?.message]).toEqual([422, 'bad_signature']);
    const stranger = await orgKeyPairs();
    const foreign = recordOf('unknown-kid-1');
    const unknown = await api<{ errors: { message: string }[] }>(baseUrl, token, `/api/orgs/${orgId}/records`, { method: 'POST', body: { id: foreign.id, type: foreign.type, time: foreign.time, payload: foreign.payload, signature: await stranger.sign(foreign) } });
    expect([unknown.status, unknown.body.errors[0]?.message]).toEqual([422, 'unknown_kid']);
    const ids = (await page(undefined, 500)).records.map((r) => r.id);
    expect(ids).not.toContain('tampered-1');
    expect(ids).not.toContain('unknown-kid-1');
  });
});
