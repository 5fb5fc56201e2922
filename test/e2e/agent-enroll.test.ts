/** The device agent (`node agent/cli.ts`) enrolling, reporting and renewing against the real local Worker, and failing clearly. */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { shouldRenew } from '../../agent/renew.ts';
import { freePort } from '../../scripts/lib/local-server.ts';
import { ROOT } from './fixtures.ts';

const baseUrl = inject('baseUrl');
const adminHeaders = { Authorization: `PROV-ADMIN ${inject('secrets').PROV_ADMIN_API_KEY}`, 'Content-Type': 'application/json' };
const work = mkdtempSync(path.join(tmpdir(), 'gatehouse-agent-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Runs the agent CLI as a device would, with the pinned Node, and collects its exit code and output. */
function agent(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['agent/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function otp(body: Record<string, unknown> = {}): Promise<{ id: string; otp: string }> {
  const res = await fetch(`${baseUrl}/admin/api/otp`, { method: 'POST', headers: adminHeaders, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; otp: string };
}

async function certificates(deviceId: string): Promise<{ serial: string; status: string }[]> {
  const res = await fetch(`${baseUrl}/admin/api/devices/${deviceId}/certificates`, { headers: adminHeaders });
  return ((await res.json()) as { certificates: { serial: string; status: string }[] }).certificates;
}

describe('gatehouse-agent against the local Worker', () => {
  const state = path.join(work, 'state');
  let deviceId = '';

  it('enrols: prints the device id, stores key (0600), certificate and chain that openssl verifies', async () => {
    const { otp: code } = await otp({ serial: 'AGENT-1' });
    const result = await agent('enroll', '--url', baseUrl, '--otp', code, '--serial', 'AGENT-1', '--state-dir', state);
    expect(result.code, result.stderr).toBe(0);
    deviceId = result.stdout.trim();
    expect(deviceId).toMatch(UUID);
    expect(result.stderr).toContain(`enrolled as ${deviceId}`);
    expect(statSync(path.join(state, 'device.key')).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(state, 'device.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(JSON.parse(readFileSync(path.join(state, 'device.json'), 'utf8'))).toMatchObject({ deviceId, url: baseUrl, serial: 'AGENT-1' });

    const chain = readFileSync(path.join(state, 'ca-chain.pem'), 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
    expect(chain).toHaveLength(2);
    writeFileSync(path.join(work, 'root.pem'), chain[1] ?? '');
    const verify = await promisify(execFile)('openssl', ['verify', '-CAfile', path.join(work, 'root.pem'), '-untrusted', path.join(state, 'ca-chain.pem'), path.join(state, 'device.crt')]);
    expect(verify.stdout.trim()).toMatch(/device\.crt: OK$/);
    expect(await certificates(deviceId)).toMatchObject([{ status: 'active' }]);
  });

  it('reports its status from the state directory', async () => {
    const human = await agent('status', '--state-dir', state);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain(`device id:    ${deviceId}`);
    expect(human.stdout).toMatch(/valid until: {2}\S+ \((89|90) days left\)/);
    const json = await agent('status', '--state-dir', state, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ deviceId, serial: 'AGENT-1', expired: false, renewalDue: false });
  });

  it('renews with a device JWT (new key and certificate, same device), or only when due with --if-needed', async () => {
    const keyBefore = readFileSync(path.join(state, 'device.key'), 'utf8');
    const skipped = await agent('renew', '--state-dir', state, '--if-needed');
    expect(skipped.code).toBe(0);
    expect(skipped.stderr).toContain('no renewal needed');
    const renewed = await agent('renew', '--state-dir', state);
    expect(renewed.code, renewed.stderr).toBe(0);
    const newSerial = renewed.stdout.trim().toLowerCase().replace(/^(00)+/, '');
    expect(readFileSync(path.join(state, 'device.key'), 'utf8')).not.toBe(keyBefore);
    const list = await certificates(deviceId);
    expect(list.map((c) => c.status)).toEqual(['active', 'active']);
    expect(list.map((c) => c.serial)).toContain(newSerial);
    expect(JSON.parse(readFileSync(path.join(state, 'device.json'), 'utf8')).renewedAt).toBeTruthy();
  });

  it('refuses to enrol over an existing enrolment (exit 8) and renews no more once revoked (exit 7)', async () => {
    const again = await agent('enroll', '--url', baseUrl, '--otp', (await otp()).otp, '--state-dir', state);
    expect(again.code).toBe(8);
    expect(again.stderr).toContain(`already holds device ${deviceId}`);
    const res = await fetch(`${baseUrl}/admin/api/devices/${deviceId}/revoke`, { method: 'POST', headers: adminHeaders, body: '{"reason":"keyCompromise"}' });
    expect(res.status).toBe(200);
    const refused = await agent('renew', '--state-dir', state);
    expect(refused.code).toBe(7);
    expect(refused.stderr.trim()).toBe('gatehouse-agent renew: renewal refused: device certificate revoked');
  });

  it('fails with one clear line and a distinct exit code: bad OTP 3, used or revoked OTP 4, unreachable 5, bad args 2', async () => {
    const dir = (name: string) => path.join(work, name);
    const bad = await agent('enroll', '--url', baseUrl, '--otp', 'x'.repeat(22), '--state-dir', dir('bad'));
    expect(bad.code).toBe(3);
    expect(bad.stderr.trim().split('\n')).toEqual(['gatehouse-agent enroll: enrolment refused: unknown one-time passcode (check --otp)']);

    const { id, otp: used } = await otp();
    expect((await agent('enroll', '--url', baseUrl, '--otp', used, '--state-dir', dir('first'))).code).toBe(0);
    const reused = await agent('enroll', '--url', baseUrl, '--otp', used, '--state-dir', dir('second'));
    expect(reused.code).toBe(4);
    expect(reused.stderr).toContain('one-time passcode already used; ask the operator for a new one');
    expect((await fetch(`${baseUrl}/admin/api/otps/${id}`, { method: 'DELETE', headers: adminHeaders })).status).toBe(409);

    const revoked = await otp();
    expect((await fetch(`${baseUrl}/admin/api/otps/${revoked.id}`, { method: 'DELETE', headers: adminHeaders })).status).toBe(204);
    expect((await agent('enroll', '--url', baseUrl, '--otp', revoked.otp, '--state-dir', dir('revoked'))).code).toBe(4);

    const nowhere = await agent('enroll', '--url', `http://127.0.0.1:${await freePort()}`, '--otp', 'x'.repeat(22), '--state-dir', dir('nowhere'));
    expect(nowhere.code).toBe(5);
    expect(nowhere.stderr).toMatch(/^gatehouse-agent enroll: cannot reach http:\/\/127\.0\.0\.1:\d+: .+\n$/);

    expect((await agent('enroll', '--otp', 'x')).code).toBe(2);
    expect((await agent('enroll', '--url', 'ftp://example', '--otp', 'x')).code).toBe(2);
    expect((await agent('enroll', '--url', baseUrl, '--otp', 'x', '--serial', 'bad*serial')).code).toBe(2);
    expect((await agent('frobnicate')).code).toBe(2);
    expect((await agent('status', '--state-dir', dir('never-enrolled'))).code).toBe(8);
  });
});

describe('shouldRenew', () => {
  it('is true once less than a third of the lifetime is left', () => {
    const notBefore = new Date('2030-01-01T00:00:00Z');
    const notAfter = new Date('2030-04-01T00:00:00Z'); // 90 days
    const day = (n: number) => new Date(notBefore.getTime() + n * 86_400_000);
    expect(shouldRenew({ notBefore, notAfter }, day(1))).toBe(false);
    expect(shouldRenew({ notBefore, notAfter }, day(59))).toBe(false);
    expect(shouldRenew({ notBefore, notAfter }, day(61))).toBe(true);
    expect(shouldRenew({ notBefore, notAfter }, day(120))).toBe(true);
  });
});
