import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { configRoute } from './config-route.ts';
import { eventsRoute } from './events-route.ts';

/**
 * The Device Gateway's config and events endpoints (`/device-api/v1/config`, `/device-api/v1/events`), for
 * device-originated calls authenticated by the tunnel's device token or the device's x5c JWT (authenticate.ts).
 * Notifications (`/device-api/v1/notifications`) are served by workers/notifications.
 */
export const deviceApi = new Hono<AppEnv>().route('/', configRoute).route('/', eventsRoute);
