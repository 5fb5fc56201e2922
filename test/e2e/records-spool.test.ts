/**
 * The agent's spool and flush, in Node with a stand-in Device Gateway client: events leave the spool only when the
 * server acknowledges them, batches respect the advertised count and byte limits in spool order, rejected events are
 * set aside with their reason, and payloads are JWEs the organisation's private key opens.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compactDecrypt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentError, EXIT } from '../../agent/errors.ts';
import { flushSpool } from '../../agent/events/flush.ts';
import type { GatewayClient } from '../../agent/events/gateway-client.ts';
import { readSpool, spoolEvent } from '../../agent/events/spool.ts';
import type { DeviceConfig, EventResult } from '../../lib/records/event.ts';

const work = mkdtempSync(path.join(tmpdir(), 'gatehouse-spool-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const fresh = () => path.join(work, `state-${n++}`);
const event = (id: string, data: unknown = { id }) => ({ id, type: 'sensor.reading', time: '2026-11-25T08:00:00.000Z', data: data as never });

/** A stand-in client: records every batch and answers with `answer` per event. */
function standIn(config: Partial<DeviceConfig>, answer: (e: { id: string }) => EventResult = (e) => ({ id: e.id, status: 'stored' })) {
  const batches: { id: string; payload: unknown }[][] = [];
  const base: DeviceConfig = { deviceId: 'd', orgId: null, encryptionKey: null, settings: {}, serverTime: new Date().toISOString(), limits: { maxEvents: 100, maxBatchBytes: 524_288, maxPayloadBytes: 65_536 } };
  const client: GatewayClient = {
    config: async () => ({ ...base, ...config }),
    send: async (events) => {
      const batch = events as { id: string; payload: unknown }[];
      batches.push(batch);
      return batch.map(answer);
    },
  };
  return { client, batches };
}

describe('agent spool and flush', () => {
  it('sends in spool order, in batches within the count and byte limits, and empties the spool', async () => {
    const dir = fresh();
    for (let i = 0; i < 250; i++) spoolEvent(dir, event(`e-${String(i).padStart(3, '0')}`, { blob: 'x'.repeat(i % 50 === 0 ? 30_000 : 10) }));
    expect(statSync(path.join(dir, 'spool')).mode & 0o777).toBe(0o700);
    const { client, batches } = standIn({ limits: { maxEvents: 100, maxBatchBytes: 64 * 1024, maxPayloadBytes: 65_536 } });
    const report = await flushSpool(dir, client);
    expect(report.stored).toHaveLength(250);
    expect(report.left).toBe(0);
    expect(batches.flat().map((e) => e.id)).toEqual(Array.from({ length: 250 }, (_, i) => `e-${String(i).padStart(3, '0')}`));
    for (const batch of batches) {
      expect(batch.length).toBeLessThanOrEqual(100);
      expect(new TextEncoder().encode(JSON.stringify({ events: batch })).length).toBeLessThanOrEqual(64 * 1024);
    }
    expect(batches.length).toBeGreaterThan(3);
    expect(readSpool(dir)).toEqual([]);
  });

  it('encrypts for the organisation at send time: a JWE with kid and evt that the private key opens', async () => {
    const dir = fresh();
    const { publicKey, privateKey } = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
    spoolEvent(dir, event('secret-1', { pin: 1234 }));
    const { client, batches } = standIn({ orgId: 'org-1', encryptionKey: { kid: 'k-7', jwk: { ...(await exportJWK(publicKey)), kty: 'EC', kid: 'k-7' } } });
    await flushSpool(dir, client);
    const payload = String(batches[0]?.[0]?.payload);
    expect(decodeProtectedHeader(payload)).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'k-7', evt: { id: 'secret-1', type: 'sensor.reading', time: '2026-11-25T08:00:00.000Z' } });
    expect(JSON.parse(new TextDecoder().decode((await compactDecrypt(payload, privateKey)).plaintext))).toEqual({ pin: 1234 });
  });

  it('sets rejected events aside with the reason, acknowledges duplicates, and keeps everything when the server is unreachable', async () => {
    const dir = fresh();
    for (const id of ['a', 'b', 'c']) spoolEvent(dir, event(id));
    const answer = (e: { id: string }): EventResult => (e.id === 'b' ? { id: 'b', status: 'rejected', error: 'type: bad' } : { id: e.id, status: e.id === 'a' ? 'duplicate' : 'stored' });
    const report = await flushSpool(dir, standIn({}, answer).client);
    expect(report).toEqual({ stored: ['c'], duplicate: ['a'], rejected: [{ id: 'b', error: 'type: bad' }], left: 0 });
    const rejected = path.join(dir, 'spool', 'rejected');
    const [file] = readdirSync(rejected).filter((f) => f.endsWith('.json'));
    expect(readFileSync(path.join(rejected, `${file}.reason`), 'utf8')).toBe('type: bad\n');

    const offline = fresh();
    spoolEvent(offline, event('kept'));
    const down: GatewayClient = { config: async () => Promise.reject(new AgentError(EXIT.UNREACHABLE, 'cannot reach')), send: async () => [] };
    await expect(flushSpool(offline, down)).rejects.toMatchObject({ code: EXIT.UNREACHABLE });
    expect(readSpool(offline).map((e) => e.event.id)).toEqual(['kept']);
    const noKey = standIn({ orgId: 'org-2', encryptionKey: null });
    await expect(flushSpool(offline, noKey.client)).rejects.toThrow(/no encryption key yet/);
    expect(noKey.batches).toEqual([]);
    expect(existsSync(path.join(offline, 'spool', 'rejected'))).toBe(false);
  });
});
