import { Hono } from 'hono';
import { Problem } from '../../lib/errors.ts';
import { TUNNEL_SUBPROTOCOL } from '../../lib/tunnel/index.ts';
import type { AppEnv } from '../app-env.ts';
import { authenticateDevice, DeviceAuthFailed } from '../provisioning/device-auth.ts';
import { tunnelConfig } from './config.ts';
import { connectRequest, tunnelOf } from './internal.ts';

/** A Worker-owned copy of a response from the object, so middleware can add headers (fetched headers are immutable). */
export function ownResponse(res: Response): Response {
  if (res.webSocket) return new Response(null, { status: 101, webSocket: res.webSocket, headers: res.headers });
  return new Response(res.body, res);
}

/**
 * `GET /devices/connect`: the device agent's WebSocket. The device is authenticated before the upgrade (a device JWT
 * with `aud` = `${PUBLIC_URL}/devices/connect`, or Cloudflare mTLS; workers/provisioning/device-auth.ts): a bad
 * credential gets 401 (403 for a revoked certificate or device) and never reaches the object. The socket then belongs to
 * the device's DeviceTunnel, which replaces any older connection of the same device.
 */
export const connect = new Hono<AppEnv>().get('/devices/connect', async (c) => {
  if (c.req.header('upgrade')?.toLowerCase() !== 'websocket') {
    throw new Problem(426, 'Upgrade Required', { detail: 'This endpoint only accepts a WebSocket upgrade.', headers: { Upgrade: 'websocket' } });
  }
  const offered = (c.req.header('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
  if (!offered.includes(TUNNEL_SUBPROTOCOL)) {
    throw new Problem(400, 'Bad Request', { detail: `Offer the WebSocket subprotocol ${TUNNEL_SUBPROTOCOL}.`, type: 'urn:gatehouse:problem:tunnel-subprotocol' });
  }
  let device;
  try {
    device = await authenticateDevice(c.env, c.req.raw, { audience: tunnelConfig(c.env).connectAudience });
  } catch (err) {
    if (!(err instanceof DeviceAuthFailed)) throw err;
    throw new Problem(err.status, err.status === 403 ? 'Forbidden' : 'Unauthorized', {
      detail: err.message,
      type: 'urn:gatehouse:problem:device-auth',
      headers: { 'WWW-Authenticate': 'Bearer realm="gatehouse-devices"' },
      internal: `${err.reason}${err.detail ? `: ${err.detail}` : ''}`,
    });
  }
  const identity = {
    deviceId: device.deviceId,
    method: device.method,
    certificateSerial: device.certificateSerial,
    fingerprint: device.fingerprintSha256,
    remoteAddr: c.req.header('cf-connecting-ip') ?? null,
  };
  const res = await tunnelOf(c.env, device.deviceId).fetch(connectRequest(identity));
  return ownResponse(res);
});
