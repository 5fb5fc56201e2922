import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../lib/encoding.ts';
import { auditLog, otps } from '../schema/index.ts';
import { app } from '../workers/app.ts';
import { database } from '../workers/db.ts';

const BASE = 'http://gatehouse.test';
const db = () => database(env.DB);
/** A fresh client address per test, so the per-IP lock-out of one test never touches another. */
const freshIp = () => `2001:db8::${crypto.randomUUID().split('-').slice(1, 4).join(':')}`;
const adminHeaders = (ip = freshIp(), key = env.PROV_ADMIN_API_KEY) => ({ Authorization: `PROV-ADMIN ${key}`, 'CF-Connecting-IP': ip });

const admin = (path: string, init: RequestInit = {}) =>
  exports.default.fetch(`${BASE}${path}`, { ...init, headers: { ...adminHeaders(), ...init.headers } });
const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  admin(path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** Runs the real app with some vars changed, as a deployment with other settings would. */
async function fetchWith(vars: Record<string, string>, path: string, init?: RequestInit) {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(`${BASE}${path}`, init), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

type Issued = { id: string; otp: string; expiresAt: string; serial: string | null; note: string | null };

describe('admin credentials', () => {
  const routes: [string, string][] = [
    ['POST', '/admin/api/otp'],
    ['GET', '/admin/api/otp'],
    ['GET', '/admin/api/otps'],
    ['DELETE', '/admin/api/otps/some-id'],
    ['POST', '/admin/api/devices/some-device/revoke'],
    ['GET', '/admin/api/devices/some-device/certificates'],
    ['GET', '/admin/api/no-such-route'],
  ];
  const badHeaders: (Record<string, string> | undefined)[] = [
    undefined,
    { Authorization: 'PROV-ADMIN wrong-key' },
    { Authorization: 'PROV-ADMIN' },
    { Authorization: `Bearer ${env.PROV_ADMIN_API_KEY}` },
    { Authorization: `PROV-ADMIN ${env.PROV_ADMIN_API_KEY} extra` },
    { Authorization: `PROV-ADMIN ${env.PROV_ADMIN_API_KEY.slice(0, -1)}` },
    { Authorization: `PROV-ADMIN ${env.PROV_ADMIN_API_KEY}x` },
  ];

  it('answers 401 with no detail to missing, wrong and malformed keys on every admin route', async () => {
    for (const [method, path] of routes) {
      for (const headers of badHeaders) {
        const res = await exports.default.fetch(`${BASE}${path}`, { method, headers: { 'CF-Connecting-IP': freshIp(), ...headers } });
        expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('PROV-ADMIN realm="gatehouse-provisioning"');
        expect(await res.json()).toEqual({ type: 'about:blank', title: 'Unauthorized', status: 401 });
      }
    }
  });

  it('accepts the scheme in any case', async () => {
    const res = await exports.default.fetch(`${BASE}/admin/api/otps`, {
      headers: { Authorization: `prov-admin ${env.PROV_ADMIN_API_KEY}`, 'CF-Connecting-IP': freshIp() },
    });
    expect(res.status).toBe(200);
  });

  it('refuses everything when no admin key is configured', async () => {
    const res = await fetchWith({ PROV_ADMIN_API_KEY: '' }, '/admin/api/otps', { headers: { Authorization: 'PROV-ADMIN ' } });
    expect(res.status).toBe(401);
  });

  it('locks an IP out after repeated failures: 429 with Retry-After, even for the right key; other IPs unaffected', async () => {
    const ip = freshIp();
    const bad = () => exports.default.fetch(`${BASE}/admin/api/otps`, { headers: { Authorization: 'PROV-ADMIN nope', 'CF-Connecting-IP': ip } });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await bad()).status);
    expect(statuses).toEqual(Array(10).fill(401));
    const locked = await bad();
    expect(locked.status).toBe(429);
    const retryAfter = Number(locked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(890);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(await locked.json()).toEqual({ type: 'about:blank', title: 'Too Many Requests', status: 429 });
    const rightKey = await exports.default.fetch(`${BASE}/admin/api/otps`, { headers: adminHeaders(ip) });
    expect(rightKey.status).toBe(429);
    expect((await exports.default.fetch(`${BASE}/admin/api/otps`, { headers: adminHeaders() })).status).toBe(200);
  });

  it('honours PROV_ADMIN_MAX_FAILURES', async () => {
    const vars = { PROV_ADMIN_MAX_FAILURES: '2', PROV_ADMIN_LOCKOUT_SECONDS: '60' };
    const ip = freshIp();
    const bad = () => fetchWith(vars, '/admin/api/otps', { headers: { Authorization: 'PROV-ADMIN nope', 'CF-Connecting-IP': ip } });
    expect([(await bad()).status, (await bad()).status, (await bad()).status]).toEqual([401, 401, 429]);
  });

  it('restricts the admin API to PROV_ADMIN_ALLOWED_IPS (IPv4 and IPv6 CIDR) with 403', async () => {
    const vars = { PROV_ADMIN_ALLOWED_IPS: '10.0.0.0/8, 2001:db8::/32' };
    const from = (ip?: string) =>
      fetchWith(vars, '/admin/api/otps', { headers: { Authorization: `PROV-ADMIN ${env.PROV_ADMIN_API_KEY}`, ...(ip ? { 'CF-Connecting-IP': ip } : {}) } });
    expect((await from('10.20.30.40')).status).toBe(200);
    expect((await from('2001:db8:1::7')).status).toBe(200);
    expect((await from('::ffff:10.1.1.1')).status).toBe(200);
    for (const outside of ['192.0.2.1', '2001:db9::1', undefined]) {
      const res = await from(outside);
      expect(res.status, String(outside)).toBe(403);
      expect(await res.json()).toEqual({ type: 'about:blank', title: 'Forbidden', status: 403 });
    }
    // The EST endpoints are not admin endpoints: devices enrol from anywhere.
    expect((await fetchWith(vars, '/.well-known/est/cacerts', { headers: { 'CF-Connecting-IP': '192.0.2.1' } })).status).toBe(200);
  });
});

describe('POST and GET /admin/api/otp', () => {
  it('issues a 128-bit OTP stored only as SHA-256, expiring in 24 h by default, with an audit row', async () => {
    const before = Date.now();
    const res = await admin('/admin/api/otp', { method: 'POST' });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Issued;
    expect(body.otp).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(Date.parse(body.expiresAt) - before).toBeGreaterThanOrEqual(86_400_000 - 1000);
    expect(Date.parse(body.expiresAt) - before).toBeLessThanOrEqual(86_400_000 + 5000);
    const row = await db().query.otps.findFirst({ where: eq(otps.id, body.id) });
    expect(row?.codeHash).toBe(await sha256Hex(body.otp));
    expect(JSON.stringify(row)).not.toContain(body.otp);
    const audit = await db().query.auditLog.findFirst({ where: eq(auditLog.target, body.id) });
    expect(audit).toMatchObject({ actor: 'prov-admin', action: 'otp.create' });
    expect(JSON.stringify(audit)).not.toContain(body.otp);
  });

  it('takes ttlSeconds, serial and note; ignores unknown fields (orgId: test/orgs-devices.test.ts)', async () => {
    const res = await postJson('/admin/api/otp', { ttlSeconds: 600, serial: ' SN-42 ', note: 'rack 7', colour: 'blue' });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Issued;
    expect(body).toMatchObject({ serial: 'SN-42', note: 'rack 7' });
    expect(Math.abs(Date.parse(body.expiresAt) - Date.now() - 600_000)).toBeLessThan(5000);
    expect(body).not.toHaveProperty('colour');
    expect(body).toMatchObject({ orgId: null });
  });

  it('answers GET with the same, for the curl habit, with settings as query parameters', async () => {
    const res = await admin('/admin/api/otp?ttlSeconds=120&serial=SN-7');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Issued;
    expect(body.otp).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(body.serial).toBe('SN-7');
    expect(Math.abs(Date.parse(body.expiresAt) - Date.now() - 120_000)).toBeLessThan(5000);
  });

  it('refuses bad settings with a 400 problem naming the field, and non-JSON bodies with 415', async () => {
    for (const [body, path] of [
      [{ ttlSeconds: 5 }, 'ttlSeconds'],
      [{ ttlSeconds: 'soon' }, 'ttlSeconds'],
      [{ ttlSeconds: 1.5 }, 'ttlSeconds'],
      [{ ttlSeconds: 31 * 86_400 }, 'ttlSeconds'],
      [{ serial: 'bad*serial' }, 'serial'],
      [{ serial: 'x'.repeat(65) }, 'serial'],
      [{ note: 'n'.repeat(501) }, 'note'],
    ] as const) {
      const res = await postJson('/admin/api/otp', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const problem = (await res.json()) as { errors: { path: string }[] };
      expect(problem.errors.map((e) => e.path)).toContain(path);
    }
    expect((await admin('/admin/api/otp?ttlSeconds=abc')).status).toBe(400);
    const form = await admin('/admin/api/otp', { method: 'POST', body: 'ttlSeconds=60', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    const broken = await admin('/admin/api/otp', { method: 'POST', body: '{"ttlSeconds":', headers: { 'Content-Type': 'application/json' } });
    expect(broken.status).toBe(400);
  });

  it('honours OTP_TTL_SECONDS as the default lifetime', async () => {
    const res = await fetchWith({ OTP_TTL_SECONDS: '300' }, '/admin/api/otp', { method: 'POST', headers: adminHeaders() });
    const body = (await res.json()) as Issued;
    expect(Math.abs(Date.parse(body.expiresAt) - Date.now() - 300_000)).toBeLessThan(5000);
  });
});

describe('listing and revoking OTPs', () => {
  async function issue(body: Record<string, unknown> = {}) {
    return (await (await postJson('/admin/api/otp', body)).json()) as Issued;
  }

  it('lists OTPs newest first with their status and never the code or its hash', async () => {
    const a = await issue({ note: 'list-a' });
    const b = await issue({ note: 'list-b' });
    const res = await admin('/admin/api/otps?limit=500');
    expect(res.status).toBe(200);
    const { otps: list } = (await res.json()) as { otps: Record<string, unknown>[] };
    const ids = list.map((o) => o.id);
    expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id));
    const entry = list.find((o) => o.id === a.id);
    expect(entry).toMatchObject({ status: 'active', note: 'list-a', usedAt: null, revokedAt: null });
    expect(Object.keys(entry ?? {}).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'note', 'revokedAt', 'serial', 'status', 'usedAt', 'usedBy']);
    expect(JSON.stringify(list)).not.toContain(a.otp);
    expect(JSON.stringify(list)).not.toContain(await sha256Hex(a.otp));
  });

  it('filters by status and bounds the limit', async () => {
    const expired = await issue();
    await db().update(otps).set({ expiresAt: Date.now() - 1000 }).where(eq(otps.id, expired.id));
    const { otps: list } = (await (await admin('/admin/api/otps?status=expired&limit=500')).json()) as { otps: { id: string; status: string }[] };
    expect(list.map((o) => o.id)).toContain(expired.id);
    expect(new Set(list.map((o) => o.status))).toEqual(new Set(['expired']));
    expect((await admin('/admin/api/otps?status=bogus')).status).toBe(400);
    expect((await admin('/admin/api/otps?limit=501')).status).toBe(400);
  });

  it('revokes an OTP (204, idempotent, audited), refuses a used one (409) and an unknown id (404)', async () => {
    const otp = await issue();
    const res = await admin(`/admin/api/otps/${otp.id}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect((await admin(`/admin/api/otps/${otp.id}`, { method: 'DELETE' })).status).toBe(204);
    const row = await db().query.otps.findFirst({ where: eq(otps.id, otp.id) });
    expect(row?.revokedAt).toBeGreaterThan(0);
    const audits = await db().select().from(auditLog).where(eq(auditLog.target, otp.id));
    expect(audits.map((a) => a.action).sort()).toEqual(['otp.create', 'otp.revoke']);

    const used = await issue();
    await db().update(otps).set({ usedAt: Date.now() }).where(eq(otps.id, used.id));
    const conflict = await admin(`/admin/api/otps/${used.id}`, { method: 'DELETE' });
    expect(conflict.status).toBe(409);
    expect((await admin('/admin/api/otps/00000000-0000-0000-0000-000000000000', { method: 'DELETE' })).status).toBe(404);
  });
});
