/**
 * `gatehouse-agent connect` as a child process, with a real enrolled-style state directory (a dev CA, a device key and
 * certificate), against the test cloud peer, which authenticates each attempt as the Worker does: the `x5c` chain
 * against the CA, the JWT's signature, `typ`, `aud` and `sub`, and a never-seen `jti`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateDeviceKey, privateKeyPem } from '../../agent/csr.ts';
import { DEVICE_JWT_TYP } from '../../agent/device-jwt.ts';
import { pemOf, saveState } from '../../agent/state.ts';
import { loadCa, type LoadedCa } from '../../lib/pki/ca.ts';
import { generateCa } from '../../lib/pki/dev-ca.ts';
import { issueDeviceCertificate } from '../../lib/pki/issue.ts';
import { verifyDeviceChain } from '../../lib/pki/verify-chain.ts';
import { CloseCode, ErrorCode } from '../../lib/tunnel/index.ts';
import { ROOT } from './fixtures.ts';
import { startLocalService, until, type LocalService } from './agent-tunnel-harness.test-fixture.ts';
import { startCloudPeer, type CloudPeer, type Gate } from './agent-tunnel-peer.test-fixture.ts';

const work = mkdtempSync(path.join(tmpdir(), 'gatehouse-agent-tunnel-'));
const deviceId = crypto.randomUUID();
const stateDir = path.join(work, 'state');
const seenJti = new Set<string>();
const revoked = { now: false };
let ca: LoadedCa;
let peer: CloudPeer;
let local: LocalService;
const children: ChildProcess[] = [];

// The Worker's checks (workers/provisioning/device-auth.ts) minus D1: chain, signature, typ, aud, sub, fresh jti.
const deviceAuth: Gate = async (req) => {
  const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (!token) return { status: 401, detail: 'device credential required' };
  try {
    const x5c = decodeProtectedHeader(token).x5c ?? [];
    const device = await verifyDeviceChain(x5c, ca);
    const { payload } = await jwtVerify(token, device.publicKey, { typ: DEVICE_JWT_TYP, audience: `${peer.url}/devices/connect`, subject: device.deviceId, maxTokenAge: 300 });
    if (!payload.jti || seenJti.has(payload.jti)) return { status: 401, detail: 'device token already used' };
    seenJti.add(payload.jti);
  } catch {
    return { status: 401, detail: 'device token invalid' };
  }
  return revoked.now ? { status: 401, detail: 'device certificate revoked' } : undefined;
};

beforeAll(async () => {
  const generated = await generateCa({ name: 'Agent tunnel test' });
  ca = await loadCa({ certPem: generated.issuingCertPem, keyPem: generated.issuingKeyPem, chainPem: generated.rootCertPem });
  const keys = await generateDeviceKey();
  const cert = await issueDeviceCertificate({ ca, publicKey: keys.publicKey, deviceId, crlUrl: 'http://127.0.0.1:9/pki/crl' });
  peer = await startCloudPeer({ gate: deviceAuth });
  local = await startLocalService((req, res) => res.end(`hello from ${req.url}`));
  saveState(stateDir, {
    deviceId, url: peer.url, serial: null, enrolledAt: new Date().toISOString(),
    keyPem: await privateKeyPem(keys.privateKey), certPem: cert.pem, chainPem: pemOf([ca.cert, ...ca.chain]),
  });
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await peer.close();
  await local.close();
  rmSync(work, { recursive: true, force: true });
});

/** Starts the agent; `lines` fills as it prints, `exit` resolves with its exit code. */
function agent(...args: string[]) {
  const child = spawn(process.execPath, ['agent/cli.ts', 'connect', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  child.stdout.on('data', (d: Buffer) => {
    const text = partial + d.toString();
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, lines, exit, stderr: () => stderr, waitFor: (re: RegExp, ms = 10_000) => until(() => lines.some((l) => re.test(l)), ms, String(re)) };
}

describe('gatehouse-agent connect (child process)', () => {
  it('connects with a device JWT, proxies, stores the claim code and token, and drains on SIGTERM', async () => {
    const next = peer.nextConnection(15_000);
    const a = agent('--forward', local.url, '--state-dir', stateDir);
    const conn = await next;
    await a.waitFor(new RegExp(`^connected device=${deviceId} `));
    expect(a.lines[0]).toMatch(/^gatehouse-agent \d+\.\d+\.\d+ device=\S+ server=http:\/\/127\.0\.0\.1:\d+ forward=http:\/\/127\.0\.0\.1:\d+$/);
    expect((await conn.hello).agentVersion).toMatch(/^\d+\.\d+\.\d+/);

    const s = conn.get('/hi?secret=1');
    expect((await s.readAll()).toString()).toBe('hello from /hi?secret=1');
    await a.waitFor(/^GET \/hi 200 in=0B out=23B \d+ms$/);

    const expiresAt = Math.floor(Date.now() / 1000) + 1800;
    conn.control({ type: 'claim_code', code: 'K7QF9-3MZX2', expiresAt });
    conn.control({ type: 'device_token', token: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJkZXYifQ.c2lnbmF0dXJl', expiresAt });
    await a.waitFor(/^Claim code: K7QF9-3MZX2 \(expires \d{4}-\d\d-\d\dT/);
    await a.waitFor(/^device token received/);
    const file = path.join(stateDir, 'claim_code');
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe('K7QF9-3MZX2');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path.join(stateDir, 'device_token'), 'utf8'))).toEqual({ token: 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJkZXYifQ.c2lnbmF0dXJl', expiresAt });
    conn.control({ type: 'claimed', ownerId: 'usr_1' });
    await a.waitFor(/^claimed owner=usr_1/);
    expect(existsSync(file)).toBe(false);

    a.child.kill('SIGTERM');
    expect((await conn.goaway).code).toBe(ErrorCode.NO_ERROR);
    expect((await conn.closed).code).toBe(CloseCode.NORMAL);
    expect(await a.exit).toBe(0);
    expect(a.lines.join('\n')).not.toContain('eyJhbGci');
    expect(a.lines.at(-1)).toBe('stopped (stopped)');
  });

  it('logs JSON lines with --json', async () => {
    const next = peer.nextConnection(15_000);
    const a = agent('--forward', local.url, '--state-dir', stateDir, '--json');
    const conn = await next;
    await conn.hello;
    await a.waitFor(/"event":"connected"/);
    await conn.get('/json').readAll();
    await a.waitFor(/"event":"request"/);
    a.child.kill('SIGINT');
    expect(await a.exit).toBe(0);
    const events = a.lines.filter(Boolean).map((l) => JSON.parse(l) as { event: string; level: string; time: string });
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['starting', 'connecting', 'connected', 'request', 'draining', 'disconnected', 'stopped']));
    expect(events.find((e) => e.event === 'connected')).toMatchObject({ deviceId, level: 'info' });
    expect(events.find((e) => e.event === 'request')).toMatchObject({ method: 'GET', path: '/json', status: 200, outcome: 'ok' });
  });

  it('keeps retrying a refused credential with a fresh JWT each time, or exits 7 with --exit-on-auth-failure', async () => {
    revoked.now = true;
    try {
      const before = peer.attempts.length;
      const a = agent('--forward', local.url, '--state-dir', stateDir);
      await a.waitFor(/^device credential refused \(HTTP 401: device certificate revoked\); retry in /);
      await until(() => peer.attempts.length >= before + 2, 5000, 'a second attempt');
      a.child.kill('SIGTERM');
      expect(await a.exit).toBe(0);

      const b = agent('--forward', local.url, '--state-dir', stateDir, '--exit-on-auth-failure');
      await b.waitFor(/^device credential refused/);
      const refusedAt = Date.now();
      expect(await b.exit).toBe(7);
      // The peer keeps the refused connection open, as the Worker does: the agent must not wait for it to close.
      expect(Date.now() - refusedAt).toBeLessThan(3000);
      expect(b.lines).toContain('device credential refused (HTTP 401: device certificate revoked); not retrying');
    } finally {
      revoked.now = false;
    }
  });

  it('refuses bad options with exit code 2', async () => {
    const missing = agent('--state-dir', stateDir);
    expect(await missing.exit).toBe(2);
    const bad = agent('--forward', 'ftp://127.0.0.1:21', '--state-dir', stateDir);
    expect(await bad.exit).toBe(2);
  });
});
