/**
 * The agent's spool and flush, in Node with a stand-in Device Gateway client: events leave the spool only when the
 * server acknowledges them, batches respect the advertised count and byte limits in spool order, rejected events are
 * set aside with their reason, and payloads are JWEs the organisation's private key opens.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compactDecrypt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { generateDeviceKey, privateKeyPem } from '../../agent/csr.ts';
import { AgentError, EXIT } from '../../agent/errors.ts';
import { flushSpool } from '../../agent/events/flush.ts';
import { gatewayClient, type GatewayClient } from '../../agent/events/gateway-client.ts';
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

/** A device identity for the real client: a key and a self-signed certificate (the stand-in server checks no chain). */
async function deviceState(url: string) {
  const keys = await generateDeviceKey();
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=device-1', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000), signingAlgorithm: alg, keys });
  return { deviceId: 'device-1', url, serial: null, enrolledAt: new Date().toISOString(), keyPem: await privateKeyPem(keys.privateKey), certPem: cert.toString('pem'), chainPem: cert.toString('pem') };
}

const readBody = (req: IncomingMessage) => new Promise<string>((resolve) => {
  let body = '';
  req.on('data', (d: Buffer) => (body += d.toString()));
  req.on('end', () => resolve(body));
});

describe('agent Device Gateway client retries (real HTTP, stand-in server)', () => {
  it('retries 503 and 429 (honouring Retry-After) and a dropped connection with the same body, so the same event ids', async () => {
    const seen: { path: string; auth: string; body: string; at: number }[] = [];
    const answers = ['drop', 503, 429, 200];
    const server = createServer(async (req, res) => {
      const body = await readBody(req);
      seen.push({ path: req.url ?? '', auth: req.headers.authorization ?? '', body, at: Date.now() });
      if (req.url === '/device-api/v1/config') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ deviceId: 'device-1', orgId: null, encryptionKey: null, settings: {}, serverTime: new Date().toISOString(), limits: { maxEvents: 100, maxBatchBytes: 524_288, maxPayloadBytes: 65_536 } }));
        return;
      }
      const answer = answers.shift();
      if (answer === 'drop') return req.socket.destroy();
      if (answer === 503) return res.writeHead(503, { 'content-type': 'application/problem+json' }).end('{"title":"Service Unavailable"}');
      if (answer === 429) return res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/problem+json' }).end('{"title":"Too Many Requests"}');
      const { events } = JSON.parse(body) as { events: { id: string }[] };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results: events.map((e) => ({ id: e.id, status: 'stored' })) }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const dir = fresh();
      for (const id of ['r-1', 'r-2', 'r-3']) spoolEvent(dir, event(id, { v: id }));
      const client = await gatewayClient(await deviceState(url), url, { retries: 4, baseDelayMs: 50 });
      const report = await flushSpool(dir, client);
      expect(report).toEqual({ stored: ['r-1', 'r-2', 'r-3'], duplicate: [], rejected: [], left: 0 });
      const posts = seen.filter((s) => s.path === '/device-api/v1/events');
      expect(posts).toHaveLength(4);
      // Every attempt carries the same events (ids and payloads); only the single-use device JWT is fresh.
      expect(new Set(posts.map((p) => p.body)).size).toBe(1);
      expect((JSON.parse(posts[0]?.body ?? '{}') as { events: { id: string }[] }).events.map((e) => e.id)).toEqual(['r-1', 'r-2', 'r-3']);
      expect(new Set(posts.map((p) => p.auth)).size).toBe(4);
      expect((posts[3]?.at ?? 0) - (posts[2]?.at ?? 0)).toBeGreaterThanOrEqual(950);
      expect(readSpool(dir)).toEqual([]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('gives up after the retries with the events still spooled (exit 5 when unreachable)', async () => {
    const server = createServer((req) => req.socket.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const dir = fresh();
      spoolEvent(dir, event('kept-1'));
      const client = await gatewayClient(await deviceState(url), url, { retries: 2, baseDelayMs: 10 });
      await expect(flushSpool(dir, client)).rejects.toMatchObject({ code: EXIT.UNREACHABLE });
      expect(readSpool(dir).map((e) => e.event.id)).toEqual(['kept-1']);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
