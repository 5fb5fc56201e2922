import { Hono } from 'hono';
import { protectApi, type ApiEnv } from '../api/current-user.ts';
import type { AppEnv } from '../app-env.ts';
import { deliveryHistory } from './deliveries.ts';
import { deviceNotifications } from './device-route.ts';
import { subscriptions } from './subscriptions.ts';

/** `/api/notifications/*` for users, behind the Client API's front door (rate limits, bearer token, user row). */
export const notificationsApi = new Hono<ApiEnv>().use(protectApi()).route('/', subscriptions).route('/', deliveryHistory);

/**
 * The notifications sub-app: users' subscriptions and delivery history (`/api/notifications`), and the Device
 * Gateway's `POST /device-api/v1/notifications`. The queue consumer that delivers is consumer.ts.
 */
export const notifications = new Hono<AppEnv>().route('/api/notifications', notificationsApi).route('/', deviceNotifications);
