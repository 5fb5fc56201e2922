import { Hono } from 'hono';
import { api } from './api/index.ts';
import type { AppEnv } from './app-env.ts';
import { auth } from './auth/index.ts';
import { deviceApi } from './device-api/index.ts';
import { devices } from './devices/index.ts';
import { notFound, onError } from './errors.ts';
import { gateway } from './gateway/index.ts';
import { health } from './health.ts';
import { bodyLimit } from './middleware/body-limit.ts';
import { cors } from './middleware/cors.ts';
import { requestLogger } from './middleware/logger.ts';
import { requestId } from './middleware/request-id.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { notifications } from './notifications/index.ts';
import { provisioning } from './provisioning/index.ts';

/** Device proxy paths carry the device's own responses and stream bodies of any size. */
const isDeviceProxy = (path: string) => /^\/devices\/[^/]+\/proxy(\/|$)/.test(path);

/** The whole platform as one Hono app, built once at module scope. */
export const app = new Hono<AppEnv>()
  .use(requestId())
  .use(requestLogger())
  .use(securityHeaders({ skip: isDeviceProxy }))
  .use(cors())
  .use(bodyLimit({ skip: isDeviceProxy }))
  .route('/', health)
  .route('/', auth)
  .route('/', gateway)
  .route('/', api)
  .route('/', provisioning)
  .route('/', devices)
  .route('/', deviceApi)
  .route('/', notifications)
  .notFound(notFound)
  .onError(onError);
