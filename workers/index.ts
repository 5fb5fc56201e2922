import { app } from './app.ts';
import { consumeQueue } from './notifications/consumer.ts';

export { DeviceTunnel } from '../durable-objects/device-tunnel.ts';
export { OrgLog } from '../durable-objects/org-log.ts';
export { RateLimiter } from '../durable-objects/rate-limiter.ts';

/** The Worker entry: HTTP goes to the Hono app, queue batches to the notifications consumer. */
export default {
  fetch: app.fetch,
  queue: consumeQueue,
} satisfies ExportedHandler<Env>;
