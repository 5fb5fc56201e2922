import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { env, exports } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { buildCsr, generateDeviceKey } from '../agent/csr.ts';
import { createDeviceJwt, x5cFor } from '../agent/device-jwt.ts';
import { bytesToBase64Url } from '../lib/encoding.ts';
import { encodePem } from '../lib/pki/pem.ts';
import { base64Body, parseCertsOnlyPkcs7 } from '../lib/pki/pkcs7.ts';
import { deviceCertificates, devices } from '../schema/index.ts';
import { BASE, call, expectBearerError } from './gateway.test-fixture.ts';
import { apiUser, createOrg, deviceToken, encryptionKeyPair, putKeys, seedOrgDevice } from './orgs.test-fixture.ts';
import { db } from './support/auth-fixtures.ts';

/** Enrols a real device through EST and returns a maker of its x5c JWTs. */
async function enrolledDevice() {
  const otp = (await (await exports.default.fetch(`${BASE}/admin/api/otp`, { method: 'POST', headers: { Authorization: `PROV-ADMIN ${env.PROV_ADMIN_API_KEY}` } })).json()) as { otp: string };
  const keys = await generateDeviceKey();
  const enrolled = await exports.default.fetch(`${BASE}/.well-known/est/simpleenroll`, { method: 'POST', headers: { Authorization: `Bearer ${otp.otp}` }, body: base64Body(await buildCsr(keys)) });
  expect(enrolled.status).toBe(200);
  const cert = new x509.X509Certificate(parseCertsOnlyPkcs7(new TextDecoder().decode(await enrolled.arrayBuffer()))[0] ?? new Uint8Array());
  const chain = parseCertsOnlyPkcs7(new TextDecoder().decode(await (await exports.default.fetch(`${BASE}/.well-known/est/cacerts`)).arrayBuffer()));
  const deviceId = cert.subjectName.getField('CN')[0] ?? '';
  const x5c = x5cFor(cert.toString('pem'), chain.map((c) => encodePem(c, 'CERTIFICATE')).join(''));
  return { deviceId, jwt: (audience: string) => createDeviceJwt({ privateKey: keys.privateKey, x5c, deviceId, audience }) };
}

const getConfig = (token: string | null) => call('/device-api/v1/config', token);

describe('GET /device-api/v1/config', () => {
  it('gives an organisation device its organisation, the active encryption key, merged settings, server time and limits', async () => {
    const owner = await apiUser();
    const org = await createOrg(owner.token);
    await call(`/api/orgs/${org.id}`, owner.token, { method: 'PATCH', body: JSON.stringify({ settings: { interval: 60, site: 'north' } }) });
    const old = await encryptionKeyPair();
    const current = await encryptionKeyPair();
    await putKeys(owner.token, org.id, { encryptionKey: old.jwk });
    await putKeys(owner.token, org.id, { encryptionKey: current.jwk });
    const device = await seedOrgDevice(org.id);
    const res = await getConfig(await deviceToken(device.id));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const config = (await res.json()) as Record<string, unknown>;
    expect(config).toEqual({
      deviceId: device.id,
      orgId: org.id,
      encryptionKey: { kid: current.kid, jwk: { kty: 'EC', crv: 'P-256', x: current.jwk.x, y: current.jwk.y, kid: current.kid, use: 'enc', alg: 'ECDH-ES+A256KW' } },
      settings: { interval: 30, site: 'north' },
      serverTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      limits: { maxEvents: 100, maxBatchBytes: 524288, maxPayloadBytes: 65536 },
    });
    expect(Math.abs(Date.parse(String(config.serverTime)) - Date.now())).toBeLessThan(5000);
  });

  it('gives a device without an organisation no key (it sends plain JSON)', async () => {
    const device = await seedOrgDevice(null);
    expect(await (await getConfig(await deviceToken(device.id))).json()).toMatchObject({ deviceId: device.id, orgId: null, encryptionKey: null, settings: { interval: 30 } });
  });

  it('accepts the device’s own x5c JWT with aud ${PUBLIC_URL}/device-api or device-api, each only once', async () => {
    const device = await enrolledDevice();
    for (const audience of ['http://127.0.0.1:8787/device-api', 'device-api']) {
      const jwt = await device.jwt(audience);
      expect((await getConfig(jwt)).status).toBe(200);
      await expectBearerError(await getConfig(jwt), 401, 'invalid_token');
    }
    await expectBearerError(await getConfig(await device.jwt('http://127.0.0.1:8787/elsewhere')), 401, 'invalid_token');
  });

  it('accepts a device token bound (cnf x5t#S256) to the active certificate, and refuses one bound to another', async () => {
    const device = await seedOrgDevice(null);
    const [cert] = await db().select().from(deviceCertificates).where(eq(deviceCertificates.deviceId, device.id));
    const thumbprint = (hex: string) => bytesToBase64Url(new Uint8Array((hex.match(/../g) ?? []).map((h) => parseInt(h, 16))));
    expect((await getConfig(await deviceToken(device.id, { cnf: { 'x5t#S256': thumbprint(cert?.fingerprint ?? '') } }))).status).toBe(200);
    await expectBearerError(await getConfig(await deviceToken(device.id, { cnf: { 'x5t#S256': thumbprint('00'.repeat(32)) } })), 401, 'invalid_token');
    await expectBearerError(await getConfig(await deviceToken(device.id, { cnf: { 'x5t#S256': 'short' } })), 401, 'invalid_token');
    await expectBearerError(await getConfig(await deviceToken(device.id, { cnf: 'x' })), 401, 'invalid_token');
  });

  it('refuses missing, malformed, user, foreign-audience, too long, unknown-device and revoked credentials with 401', async () => {
    const device = await seedOrgDevice(null);
    const user = await apiUser();
    await expectBearerError(await getConfig(null), 401, 'invalid_token');
    await expectBearerError(await getConfig('nonsense'), 401, 'invalid_token');
    await expectBearerError(await getConfig(user.token), 401, 'invalid_token');
    await expectBearerError(await getConfig(await deviceToken(device.id, { aud: 'someone-else' })), 401, 'invalid_token');
    await expectBearerError(await getConfig(await deviceToken(device.id, { token_use: 'access' })), 401, 'invalid_token');
    await expectBearerError(await getConfig(await deviceToken(device.id, {}, 7200)), 401, 'invalid_token');
    await expectBearerError(await getConfig(await deviceToken(crypto.randomUUID())), 401, 'invalid_token');
    await db().update(devices).set({ status: 'revoked' }).where(eq(devices.id, device.id));
    await expectBearerError(await getConfig(await deviceToken(device.id)), 401, 'invalid_token');
  });
});
