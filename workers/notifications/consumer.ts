import { createLogger } from '../middleware/logger.ts';

/**
 * The `queue()` entry: `NOTIFICATIONS` messages are fanned out to subscriptions, and messages that reach the
 * dead-letter queue are recorded as dead. No producer exists yet, so any message is retried (ending, after
 * `max_retries`, in the dead-letter queue) rather than acknowledged and lost.
 */
export async function consumeQueue(batch: MessageBatch<unknown>, _env: Env): Promise<void> {
  const log = createLogger({ queue: batch.queue });
  for (const message of batch.messages) {
    if (batch.queue.endsWith('-dlq')) {
      log.warn('dead-lettered message', { id: message.id, attempts: message.attempts });
      message.ack();
    } else {
      log.warn('no handler for message yet; retrying', { id: message.id, attempts: message.attempts });
      message.retry();
    }
  }
}
