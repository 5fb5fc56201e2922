import { compactDecrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import type { RecordView } from '../lib/records/view.ts';
import { call, callWith, expectProblem, json } from './gateway.test-fixture.ts';
import { apiUser, createOrg, deviceToken, encryptEvent, encryptionKeyPair, putKeys, seedOrgDevice } from './orgs.test-fixture.ts';

type Results = { results: { id: string; status: string; error?: string }[] };
const post = async (deviceId: string, events: unknown[], vars: Record<string, unknown> = {}) =>
  callWith(vars, '/device-api/v1/events', await deviceToken(deviceId), json('POST', { events }));
const event = (id: string, extra: Record<string, unknown> = {}) => ({ id, type: 'door.opened', time: '2026-11-25T08:00:00.000Z', payload: { door: 'front' }, ...extra });

async function orgDevice() {
  const owner = await apiUser();
  const org = await createOrg(owner.token);
  const key = await encryptionKeyPair();
  await putKeys(owner.token, org.id, { encryptionKey: key.jwk });
  const device = await seedOrgDevice(org.id);
  const sealed = async (id: string, data: unknown = { door: 'front' }, header: Record<string, unknown> = {}) => {
    const meta = { id, type: 'door.opened', time: '2026-11-25T08:00:00.000Z' };
    return { ...meta, payload: await encryptEvent(key, meta, data, header) };
  };
  const records = async () => ((await (await call(`/api/orgs/${org.id}/records?limit=500`, owner.token)).json()) as { records: RecordView[] }).records;
  return { owner, org, key, device, sealed, records };
}

describe('POST /device-api/v1/events: organisation devices (JWE payloads)', () => {
  it('stores each event once: a retried batch answers duplicate; the stored payload is the JWE, decryptable only with the org key', async () => {
    const { key, device, sealed, records } = await orgDevice();
    const batch = [await sealed('e-1', { secret: 'MARKER-1' }), await sealed('e-2')];
    const first = await post(device.id, batch);
    expect(first.status).toBe(200);
    expect(((await first.json()) as Results).results).toEqual([{ id: 'e-1', status: 'stored' }, { id: 'e-2', status: 'stored' }]);
    const retry = [await sealed('e-1', { secret: 'MARKER-1' }), await sealed('e-3')];
    expect(((await (await post(device.id, retry)).json()) as Results).results).toEqual([{ id: 'e-1', status: 'duplicate' }, { id: 'e-3', status: 'stored' }]);
    const stored = await records();
    expect(stored.map((r) => [r.id, r.kind, r.deviceId, r.payloadFormat, r.encKid])).toEqual([
      ['e-1', 'event', device.id, 'jwe', key.kid],
      ['e-2', 'event', device.id, 'jwe', key.kid],
      ['e-3', 'event', device.id, 'jwe', key.kid],
    ]);
    expect(stored[0]?.payload).toBe(batch[0]?.payload);
    expect(JSON.stringify(stored)).not.toContain('MARKER-1');
    const { plaintext } = await compactDecrypt(String(stored[0]?.payload), key.privateKey);
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual({ secret: 'MARKER-1' });
  });

  it('rejects, one by one, plain payloads, wrong algorithms, unknown kids, compression, a mismatched evt and bad metadata', async () => {
    const { device, sealed, records } = await orgDevice();
    const other = await encryptionKeyPair();
    const good = await sealed('ok-1');
    const meta = (id: string) => ({ id, type: 'door.opened', time: '2026-11-25T08:00:00.000Z' });
    const batch = [
      event('plain'),
      await sealed('dir', {}, { alg: 'ECDH-ES' }),
      { ...meta('unknown-kid'), payload: await encryptEvent(other, meta('unknown-kid'), {}) },
      { ...meta('evt'), payload: good.payload },
      { ...meta('bad-type'), type: 'has space', payload: good.payload },
      { id: 'no-time', type: 'x', payload: good.payload },
      { ...meta('truncated'), payload: good.payload.split('.').slice(0, 4).join('.') },
      good,
    ];
    const res = (await (await post(device.id, batch)).json()) as Results;
    expect(res.results.map((r) => [r.id, r.status])).toEqual([
      ['plain', 'rejected'], ['dir', 'rejected'], ['unknown-kid', 'rejected'], ['evt', 'rejected'],
      ['bad-type', 'rejected'], ['no-time', 'rejected'], ['truncated', 'rejected'], ['ok-1', 'stored'],
    ]);
    const errors = Object.fromEntries(res.results.map((r) => [r.id, r.error]));
    expect(errors.plain).toContain('compact JWE');
    expect(errors.dir).toMatch(/^JWE protected header: alg /);
    expect(errors['unknown-kid']).toContain(`"${other.kid}" is not an encryption key of this organisation`);
    expect(errors.evt).toContain('evt does not match');
    expect(errors['bad-type']).toMatch(/^type: /);
    expect(errors['no-time']).toMatch(/^time: /);
    expect(errors.truncated).toContain('five base64url segments');
    expect((await records()).map((r) => r.id)).toEqual(['ok-1']);
  });

  it('still accepts a retired key’s kid (a device may hold the previous config)', async () => {
    const { owner, org, device, sealed } = await orgDevice();
    const event1 = await sealed('before-rotation');
    await putKeys(owner.token, org.id, { encryptionKey: (await encryptionKeyPair()).jwk });
    expect(((await (await post(device.id, [event1])).json()) as Results).results[0]?.status).toBe('stored');
  });
});

describe('POST /device-api/v1/events: limits', () => {
  it('answers 413 beyond 100 events or 512 KiB, 400 for a bad envelope', async () => {
    const device = await seedOrgDevice(null);
    expect((await expectProblem(await post(device.id, Array.from({ length: 101 }, (_, i) => event(`e${i}`))), 413)).detail).toContain('at most 100 events');
    const fat = Array.from({ length: 9 }, (_, i) => event(`f${i}`, { payload: { blob: 'x'.repeat(60_000) } }));
    expect((await expectProblem(await post(device.id, fat), 413)).type).toBe('urn:gatehouse:problem:too-large');
    await expectProblem(await post(device.id, []), 400);
    await expectProblem(await callWith({}, '/device-api/v1/events', await deviceToken(device.id), json('POST', { events: [], extra: 1 })), 400);
    const big = (await (await post(device.id, [event('big', { payload: { blob: 'x'.repeat(70_000) } })])).json()) as Results;
    expect(big.results).toEqual([{ id: 'big', status: 'rejected', error: 'payload is larger than 65536 bytes' }]);
  });

  it('limits batches per device with 429 and Retry-After (EVENTS_RATE_LIMIT_PER_DEVICE)', async () => {
    const device = await seedOrgDevice(null);
    const vars = { EVENTS_RATE_LIMIT_PER_DEVICE: '2/60' };
    expect((await post(device.id, [event('a')], vars)).status).toBe(200);
    expect((await post(device.id, [event('b')], vars)).status).toBe(200);
    const limited = await post(device.id, [event('c')], vars);
    expect((await expectProblem(limited, 429)).type).toBe('urn:gatehouse:problem:rate-limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const other = await seedOrgDevice(null);
    expect((await post(other.id, [event('a')], vars)).status).toBe(200);
  });
});

describe('devices without an organisation: plain JSON events, visible to the device’s users', () => {
  it('stores JSON payloads and pages them at GET /api/devices/:deviceId/events for users with a role', async () => {
    const viewer = await apiUser();
    const stranger = await apiUser();
    const device = await seedOrgDevice(null, [[viewer.user.id, 'viewer']]);
    const res = (await (await post(device.id, [event('j-1', { payload: { t: 21.5, b: true } }), event('j-2', { payload: 'text' }), event('j-1')])).json()) as Results;
    expect(res.results.map((r) => r.status)).toEqual(['stored', 'stored', 'duplicate']);
    const page = await call(`/api/devices/${device.id}/events?limit=1`, viewer.token);
    expect(page.status).toBe(200);
    const first = (await page.json()) as { records: RecordView[]; cursor: string; hasMore: boolean };
    expect(first.records).toEqual([expect.objectContaining({ id: 'j-1', orgId: null, deviceId: device.id, payloadFormat: 'json', payload: { b: true, t: 21.5 }, encKid: null })]);
    expect(first.hasMore).toBe(true);
    const second = (await (await call(`/api/devices/${device.id}/events?after=${first.cursor}`, viewer.token)).json()) as { records: RecordView[]; hasMore: boolean };
    expect(second.records.map((r) => r.payload)).toEqual(['text']);
    expect(second.hasMore).toBe(false);
    await expectProblem(await call(`/api/devices/${device.id}/events`, stranger.token), 404);
    await expectProblem(await call(`/api/devices/${device.id}/events`, null), 401);
  });
});
