import { Hono, type Context } from 'hono';
import { BearerError, Problem } from '../../lib/errors.ts';
import { isDeviceId } from '../../lib/pki/ids.ts';
import { atLeast } from '../api/device-roles.ts';
import type { AppEnv } from '../app-env.ts';
import { verifyDeviceAccessToken } from '../gateway/device-access.ts';
import { ownResponse } from './connect.ts';
import { proxyRequest, tunnelOf } from './internal.ts';
import { buildRequestHead } from './proxy-head.ts';

/** The header a client may carry the device-access token in, leaving `Authorization` to the device's own service. */
export const ACCESS_TOKEN_HEADER = 'x-device-access-token';

// The Authorizer's tokens are compact JWEs: five base64url parts.
const JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The device-access token of a request, and whether it came in `Authorization` (which then is not forwarded). */
function accessToken(c: Context<AppEnv>): { token: string; inAuthorization: boolean } {
  const header = c.req.header(ACCESS_TOKEN_HEADER)?.trim();
  if (header) return { token: header, inAuthorization: false };
  const authorization = c.req.header('authorization');
  if (!authorization) throw new BearerError('invalid_token', 'A device access token is required (from POST /api/devices/:deviceId/authorize).');
  const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  if (!token) throw new BearerError('invalid_request', 'The Authorization header is not a Bearer token.');
  return { token, inAuthorization: true };
}

// Everything after /devices/:deviceId/proxy, as sent (still percent-encoded), plus the query.
function forwardedPath(url: URL): string {
  const rest = /^\/devices\/[^/]+\/proxy(\/.*)?$/.exec(url.pathname)?.[1];
  return `${rest || '/'}${url.search}`;
}

/**
 * `ANY /devices/:deviceId/proxy/*`: HTTP and WebSocket to the device's local service through its tunnel. The caller
 * needs the Authorizer's token for this device (`Authorization: Bearer` or `X-Device-Access-Token`) with a role of
 * at least operator. Method, path, query and end-to-end headers go to the DeviceTunnel, which streams both bodies;
 * an offline device gets 503 at once, a silent one 504 after TUNNEL_RESPONSE_TIMEOUT_SECONDS.
 */
async function proxy(c: Context<AppEnv>): Promise<Response> {
  const deviceId = c.req.param('deviceId') ?? '';
  const { token, inAuthorization } = accessToken(c);
  if (!isDeviceId(deviceId)) throw new Problem(404, 'Not Found', { detail: 'No such device.', type: 'urn:gatehouse:problem:not-found' });
  if (!JWE.test(token)) throw new BearerError('invalid_token', 'The device access token is not valid for this device.');
  const access = await verifyDeviceAccessToken(c.env, token, deviceId);
  if (!atLeast(access.role, 'operator')) {
    throw new BearerError('insufficient_scope', `Reaching a device needs the operator role or above; yours is ${access.role}.`);
  }
  const websocket = c.req.header('upgrade')?.toLowerCase() === 'websocket';
  if (websocket && c.req.method !== 'GET') throw new Problem(400, 'Bad Request', { detail: 'A WebSocket upgrade must be a GET.' });
  const head = buildRequestHead(c.req.raw, { path: forwardedPath(new URL(c.req.url)), authorizationIsPlatform: inAuthorization, websocket });
  const res = await tunnelOf(c.env, deviceId).fetch(proxyRequest(head, websocket ? null : c.req.raw.body));
  return ownResponse(res);
}

/** The device proxy routes. */
export const deviceProxy = new Hono<AppEnv>().all('/devices/:deviceId/proxy', proxy).all('/devices/:deviceId/proxy/*', proxy);
