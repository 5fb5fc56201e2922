import { bytesToBase64Url } from '../../lib/encoding.ts';
import { authConfig } from '../auth/config.ts';
import { keyRing } from '../auth/keys.ts';
import { signJwt } from '../auth/mint.ts';
import { DEVICE_API_AUDIENCE } from '../device-api/authenticate.ts';

/**
 * The device token the tunnel pushes to a connected device: a short-lived RS256 JWT from the platform key ring, which
 * the Device Gateway accepts (workers/device-api/authenticate.ts verifies it). It is bound to the certificate the
 * device connected with by the RFC 8705 §3.1 confirmation `cnf["x5t#S256"]`, so revoking that certificate ends it too.
 */

const hexToBytes = (hex: string): Uint8Array => new Uint8Array((hex.match(/../g) ?? []).map((h) => parseInt(h, 16)));

/** Signs a device token for `deviceId`, bound to the certificate with SHA-256 `fingerprint` (hex); times in Unix seconds. */
export async function mintDeviceToken(
  env: Env,
  device: { deviceId: string; fingerprint: string },
  opts: { ttlSeconds: number; now?: number },
): Promise<{ token: string; expiresAt: number }> {
  const iat = Math.floor((opts.now ?? Date.now()) / 1000);
  const expiresAt = iat + opts.ttlSeconds;
  const ring = await keyRing(env.JWT_SIGNING_KEYS);
  const token = await signJwt(
    {
      iss: authConfig(env).issuer,
      sub: device.deviceId,
      aud: DEVICE_API_AUDIENCE,
      iat,
      exp: expiresAt,
      jti: crypto.randomUUID(),
      cnf: { 'x5t#S256': bytesToBase64Url(hexToBytes(device.fingerprint)) },
    },
    ring.signer,
  );
  return { token, expiresAt };
}
