import { database } from '../db.ts';
import { createLogger, type Logger } from '../middleware/logger.ts';
import { markDead } from './delivery-store.ts';
import { fanOut, type FanOutDeps } from './fanout.ts';
import { notificationsConfig } from './config.ts';
import { retryDelaySeconds } from './outcome.ts';
import { queueMessageSchema, type NotificationMessage } from './schemas.ts';

/** Dead-letter queues are named `<queue>-dlq` (wrangler.toml). */
const isDeadLetterQueue = (name: string) => name.endsWith('-dlq');

function parse(message: Message<unknown>, log: Logger): NotificationMessage | null {
  const parsed = queueMessageSchema.safeParse(message.body);
  if (parsed.success) return parsed.data;
  // No retry can make a malformed message valid: acknowledge it so it does not clog the queue.
  log.error('malformed notification message dropped', { queueMessageId: message.id });
  message.ack();
  return null;
}

async function deliver(env: Env, message: Message<unknown>, deps: FanOutDeps & { log: Logger }): Promise<void> {
  const body = parse(message, deps.log);
  if (!body) return;
  try {
    const result = await fanOut(env, body, message.attempts, deps);
    deps.log.info('notification fanned out', { messageId: body.id, attempt: message.attempts, action: result.action, sent: result.sent, skipped: result.skipped, ...result.counts });
    if (result.action === 'ack') message.ack();
    else message.retry({ delaySeconds: result.delaySeconds });
  } catch (err) {
    // D1 unavailable or similar: nothing was decided, so try the whole message again later.
    deps.log.error('notification fan-out failed', { messageId: body.id, attempt: message.attempts, error: err instanceof Error ? `${err.name}: ${err.message}` : 'error' });
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts, [], notificationsConfig(env), deps.random) });
  }
}

async function bury(env: Env, message: Message<unknown>, log: Logger, now: number): Promise<void> {
  const body = parse(message, log);
  if (!body) return;
  try {
    const marked = await markDead(database(env.DB), body.id, body.deviceId, now);
    log.warn('notification dead-lettered', { messageId: body.id, deviceId: body.deviceId, marked });
    message.ack();
  } catch (err) {
    log.error('dead-letter bookkeeping failed', { messageId: body.id, error: err instanceof Error ? err.name : 'error' });
    message.retry();
  }
}

/**
 * The `queue()` entry. `NOTIFICATIONS` messages are fanned out (each message acknowledged or retried with backoff on
 * its own, so one failing device does not hold back the batch); after `max_retries` the queue moves a message to
 * the dead-letter queue, whose batches come here too and mark the message's undelivered deliveries `dead`.
 * `deps` replaces the upstream I/O in tests.
 */
export async function consumeQueue(batch: MessageBatch<unknown>, env: Env, _ctx?: ExecutionContext, deps: Partial<FanOutDeps> = {}): Promise<void> {
  const log = createLogger({ queue: batch.queue });
  const full = { fetch: deps.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init)), now: deps.now ?? Date.now, random: deps.random ?? Math.random, log };
  if (isDeadLetterQueue(batch.queue)) {
    for (const message of batch.messages) await bury(env, message, log, full.now());
    return;
  }
  await Promise.all(batch.messages.map((message) => deliver(env, message, full)));
}
