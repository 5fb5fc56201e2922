import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { claimRoutes } from '../devices/claim.ts';
import { deviceEventsApi } from '../device-api/user-events.ts';
import { orgs } from '../orgs/index.ts';
import { adminUsers } from './admin-users.ts';
import { devices } from './devices.ts';
import { me } from './me.ts';
import { openapi } from './openapi.ts';

/**
 * The Client REST API (`/api`): profiles, devices, sharing, the Authorizer and user management, each behind the
 * gateway's front door (rate limits and bearer verification); its OpenAPI document is public. See ARCHITECTURE.md.
 */
export const api = new Hono<AppEnv>()
  .route('/', openapi)
  .route('/api/users/me', me)
  .route('/api/devices', devices)
  .route('/', claimRoutes)
  .route('/api/admin/users', adminUsers)
  .route('/api/devices', deviceEventsApi)
  .route('/api/orgs', orgs);
