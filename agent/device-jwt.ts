/**
 * The device's short-lived credential for Gatehouse: a JWT signed with the device key, with the device certificate
 * chain in the `x5c` header (RFC 7515 §4.1.6). workers/provisioning/device-auth.ts verifies it; EST re-enrolment and
 * the tunnel both use it. Runtime-neutral (WebCrypto and jose).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { SignJWT } from 'jose';
import { bytesToBase64, randomToken } from '../lib/encoding.ts';
import { decodePem } from '../lib/pki/pem.ts';

/** The JOSE `typ` Gatehouse requires (RFC 8725 §3.11); must equal DEVICE_JWT_TYP in workers/provisioning/device-auth.ts. */
export const DEVICE_JWT_TYP = 'gatehouse-device+jwt';
/** The longest lifetime the server accepts, in seconds. */
export const DEVICE_JWT_MAX_TTL_SECONDS = 300;

/** The JWS `alg` for a WebCrypto private key (RFC 7518 §3.1, RFC 8037 §3.1). */
export function jwsAlgorithm(key: CryptoKey): string {
  const alg: { name: string; namedCurve?: string } = key.algorithm;
  if (alg.name === 'ECDSA' && alg.namedCurve === 'P-256') return 'ES256';
  if (alg.name === 'ECDSA' && alg.namedCurve === 'P-384') return 'ES384';
  if (alg.name === 'Ed25519') return 'EdDSA';
  if (alg.name === 'RSASSA-PKCS1-v1_5') return 'RS256';
  throw new TypeError(`no JWS algorithm for a ${alg.name} key`);
}

/**
 * The `x5c` array for a device certificate: the leaf, then the chain's certificates that are not self-signed (the
 * server holds the root; an intermediate in x5c lets it verify a certificate from a rotated-out issuing CA).
 */
export function x5cFor(leafPem: string, chainPem: string): string[] {
  const certs = [leafPem, chainPem].flatMap((pem) => decodePem(pem).filter((b) => b.label === 'CERTIFICATE'));
  const [leaf, ...chain] = certs.map((b) => new x509.X509Certificate(b.der));
  if (!leaf) throw new TypeError('no certificate in the leaf PEM');
  const intermediates = chain.filter((c) => c.subject !== c.issuer);
  return [leaf, ...intermediates].map((c) => bytesToBase64(new Uint8Array(c.rawData)));
}

/** What a device JWT says: who (the device id, also in the certificate), to whom (`aud`, the endpoint's URL), and for how long. */
export type DeviceJwtParams = {
  privateKey: CryptoKey;
  x5c: string[];
  deviceId: string;
  audience: string;
  ttlSeconds?: number;
  now?: number;
};

/** Signs a device JWT: `sub` and `iss` = device id, `aud`, `iat`, `exp` (default 60 s later, at most 300), a random `jti`. */
export async function createDeviceJwt(p: DeviceJwtParams): Promise<string> {
  const ttl = p.ttlSeconds ?? 60;
  if (!(ttl > 0 && ttl <= DEVICE_JWT_MAX_TTL_SECONDS)) throw new RangeError(`ttlSeconds must be 1..${DEVICE_JWT_MAX_TTL_SECONDS}`);
  const iat = Math.floor((p.now ?? Date.now()) / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: jwsAlgorithm(p.privateKey), typ: DEVICE_JWT_TYP, x5c: p.x5c })
    .setIssuer(p.deviceId)
    .setSubject(p.deviceId)
    .setAudience(p.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttl)
    .setJti(randomToken(16))
    .sign(p.privateKey);
}
