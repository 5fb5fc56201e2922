import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { authenticateDeviceCaller, type DeviceCaller } from './authenticate.ts';

/** The Hono env of Device Gateway routes: the app's, plus the authenticated device. */
export type DeviceApiEnv = { Bindings: AppEnv['Bindings']; Variables: AppEnv['Variables'] & { device: DeviceCaller } };

/** Authenticates the device (authenticate.ts) before anything else, so an unauthenticated caller learns nothing about bodies. */
export const requireDevice = (): MiddlewareHandler<DeviceApiEnv> =>
  async function requireDevice(c, next) {
    c.set('device', await authenticateDeviceCaller(c.env, c.req.raw));
    return next();
  };
