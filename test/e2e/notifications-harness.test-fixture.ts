/**
 * Seeding for the notification e2e tests: users with a role on their own device (certificate issued by the server's
 * CA, as EST would), an FCM service-account key, and the credentials a user (access token) and a
 * device (x5c JWT) present.
 */
import 'reflect-metadata';
import { importJWK, SignJWT } from 'jose';
import { generateDeviceKey } from '../../agent/csr.ts';
import { createDeviceJwt, x5cFor } from '../../agent/device-jwt.ts';
import { createMultiFernet } from '../../lib/fernet.ts';
import { loadCa } from '../../lib/pki/ca.ts';
import { issueDeviceCertificate } from '../../lib/pki/issue.ts';
import { deviceCertificates, devices, deviceUsers } from '../../schema/index.ts';
import { openLocalD1 } from '../../scripts/lib/local-d1.ts';
import { createUser } from '../../workers/auth/store/users.ts';
import { database } from '../../workers/db.ts';

/** A seeded user and the device they hold `viewer` on. */
export type Actor = { userId: string; username: string; deviceId: string; deviceKey: CryptoKey; x5c: string[] };

/** A Google service-account key for the FCM stand-in. */
export async function serviceAccountKey(projectId: string) {
  const { privateKey, publicKey } = await crypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', privateKey));
  const email = `gatehouse@${projectId}.iam.gserviceaccount.com`;
  const json = JSON.stringify({ type: 'service_account', project_id: projectId, private_key_id: 'k1', client_email: email, private_key: `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n` });
  return { json, email, publicKey, projectId };
}

/** Seeds one user per name, each `viewer` on a device of their own with an active certificate from the server's CA. */
export async function seedActors(ctx: { configPath: string; stateDir: string; secrets: Record<string, string> }, names: string[]): Promise<Record<string, Actor>> {
  const local = await openLocalD1(ctx);
  const s = ctx.secrets;
  try {
    const db = database(local.db);
    const ca = await loadCa({ certPem: s.CA_CERT ?? '', keyPem: s.CA_KEY ?? '', chainPem: s.CA_CHAIN ?? '' });
    const actors: Record<string, Actor> = {};
    for (const name of names) {
      const userId = crypto.randomUUID();
      const username = `${name}-${userId.slice(0, 6)}@example.com`;
      await createUser(db, createMultiFernet(s.CLAIMS_FERNET_KEYS ?? ''), { id: userId, email: username, password: 'e2e notifications pw', status: 'CONFIRMED', emailVerified: true, groups: [], claims: {} });
      const deviceId = crypto.randomUUID();
      const keys = await generateDeviceKey();
      const cert = await issueDeviceCertificate({ ca, publicKey: keys.publicKey, deviceId, crlUrl: 'http://127.0.0.1/pki/crl' });
      await db.insert(devices).values({ id: deviceId, name: `${name} device`, status: 'claimed' });
      await db.insert(deviceCertificates).values({ serial: cert.serialHex, deviceId, fingerprint: cert.fingerprintSha256Hex, notBefore: cert.notBefore.getTime(), notAfter: cert.notAfter.getTime(), pem: cert.pem });
      await db.insert(deviceUsers).values({ deviceId, userId, role: 'viewer', grantedBy: 'e2e' });
      actors[name] = { userId, username, deviceId, deviceKey: keys.privateKey, x5c: x5cFor(cert.pem, `${s.CA_CERT ?? ''}${s.CA_CHAIN ?? ''}`) };
    }
    return actors;
  } finally {
    await local.dispose();
  }
}

/** A user access token as the token endpoint issues it (RS256 with the server's signing key). */
export async function accessToken(baseUrl: string, signingKeys: string, actor: Actor): Promise<string> {
  const jwk = (JSON.parse(signingKeys) as { keys: (JsonWebKey & { kid: string })[] }).keys[0];
  if (!jwk) throw new Error('no signing key');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ token_use: 'access', client_id: 'e2e-notifications', username: actor.username, scope: 'openid' })
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
    .setIssuer(baseUrl)
    .setSubject(actor.userId)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(await importJWK(jwk, 'RS256'));
}

/** The device's own x5c JWT for the Device Gateway. */
export const deviceJwt = (actor: Actor) => createDeviceJwt({ privateKey: actor.deviceKey, x5c: actor.x5c, deviceId: actor.deviceId, audience: 'device-api' });
