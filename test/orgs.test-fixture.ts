import { env } from 'cloudflare:workers';
import { CompactEncrypt, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { expect } from 'vitest';
import { signRecord } from '../lib/records/signature.ts';
import type { RecordContent } from '../lib/records/canonical.ts';
import { keyRing } from '../workers/auth/keys.ts';
import { database } from '../workers/db.ts';
import { assignDeviceToOrg } from '../workers/orgs/device-store.ts';
import { seedDevice } from './api.test-fixture.ts';
import { call, ISSUER, json, signOwn } from './gateway.test-fixture.ts';
import { seedUser } from './support/auth-fixtures.ts';

/** A user with an access token the Client API accepts. */
export async function apiUser() {
  const user = await seedUser();
  return { user, token: await signOwn({ sub: user.id, username: user.username, client_id: 'orgs-test' }) };
}

/** Creates an organisation through the API as `token`'s user (its owner). */
export async function createOrg(token: string, name = `org ${crypto.randomUUID().slice(0, 6)}`): Promise<{ id: string; name: string }> {
  const res = await call('/api/orgs', token, json('POST', { name }));
  expect(res.status).toBe(201);
  return res.json();
}

/** Adds a member with a role through the API, as `token`'s user. */
export async function addMember(token: string, orgId: string, userId: string, role: 'owner' | 'admin' | 'member') {
  const res = await call(`/api/orgs/${orgId}/members/${userId}`, token, json('PUT', { role }));
  expect([200, 201]).toContain(res.status);
}

/** A P-256 ECDH-ES+A256KW key pair, the public half as a JWK with `kid` (what an organisation registers). */
export async function encryptionKeyPair(kid = `enc-${crypto.randomUUID().slice(0, 8)}`) {
  const { publicKey, privateKey } = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
  return { kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, use: 'enc', alg: 'ECDH-ES+A256KW' } as JWK & { kid: string } };
}

/** An Ed25519 (EdDSA) or P-256 (ES256) signing key pair, the public half as a JWK with `kid`. */
export async function signingKeyPair(kind: 'Ed25519' | 'P-256' = 'Ed25519', kid = `sig-${crypto.randomUUID().slice(0, 8)}`) {
  const alg = kind === 'Ed25519' ? ('EdDSA' as const) : ('ES256' as const);
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(kind === 'Ed25519' ? { crv: 'Ed25519' } : {}) });
  const jwk = { ...(await exportJWK(publicKey)), kid, use: 'sig' } as JWK & { kid: string };
  return { kid, alg, privateKey, jwk, sign: (record: RecordContent) => signRecord(record, privateKey, { kid, alg }) };
}

/** Registers keys through the API and asserts success. */
export async function putKeys(token: string, orgId: string, body: { encryptionKey?: unknown; signingKey?: unknown }) {
  const res = await call(`/api/orgs/${orgId}/keys`, token, json('PUT', body));
  expect(res.status, await res.clone().text()).toBe(200);
  return res.json() as Promise<{ encryption: { kid: string; status: string }[]; signing: { kid: string; status: string }[] }>;
}

/** A device with an active certificate, in the organisation when `orgId` is given. */
export async function seedOrgDevice(orgId: string | null, members: Parameters<typeof seedDevice>[0]['members'] = []) {
  const device = await seedDevice({ members, certificate: true });
  if (orgId) expect(await assignDeviceToOrg(database(env.DB), device.id, orgId, { actor: 'test' })).toBe('assigned');
  return device;
}

/** A device token as the tunnel pushes it: signed by the platform key ring, `aud` device-api. */
export async function deviceToken(deviceId: string, claims: JWTPayload = {}, ttl = 300) {
  const ring = await keyRing(env.JWT_SIGNING_KEYS);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, sub: deviceId, aud: 'device-api', iat: now, exp: now + ttl, token_use: 'device', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: ring.signer.kid, typ: 'JWT' })
    .sign(ring.signer.privateKey);
}

/** An event payload encrypted as the agent does: compact JWE, ECDH-ES+A256KW / A256GCM, with `kid` and `evt`. */
export async function encryptEvent(key: { kid: string; publicKey: CryptoKey }, event: { id: string; type: string; time: string }, data: unknown, header: Record<string, unknown> = {}) {
  return new CompactEncrypt(new TextEncoder().encode(JSON.stringify(data)))
    .setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: key.kid, cty: 'application/json', evt: event, ...header })
    .encrypt(key.publicKey);
}
