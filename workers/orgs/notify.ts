import type { Context } from 'hono';
import type { Logger } from '../middleware/logger.ts';

/** Any app env with the platform bindings and the request logger. */
type LoggedEnv = { Bindings: Env; Variables: { log: Logger } };

/**
 * Tells the organisation's OrgLog that rows were appended, after the D1 insert committed. The answer does not wait
 * for it (`waitUntil`); a failed poke is logged and costs only latency, since the next poke or reconnect drains from D1.
 */
export function notifyOrgLog<E extends LoggedEnv>(c: Context<E>, orgId: string): void {
  const poke = c.env.ORG_LOG.getByName(orgId)
    .poke()
    .catch((err: unknown) => c.get('log').warn('org log poke failed', { orgId, error: err instanceof Error ? err.message : String(err) }));
  try {
    c.executionCtx.waitUntil(poke);
  } catch {
    // No execution context (a direct app.fetch in a script): the promise still runs to completion.
  }
}

/** Closes a removed member's streams of the organisation (best effort, logged on failure). */
export async function disconnectMember<E extends LoggedEnv>(c: Context<E>, orgId: string, userId: string): Promise<void> {
  try {
    await c.env.ORG_LOG.getByName(orgId).disconnectUser(userId);
  } catch (err) {
    c.get('log').warn('org log disconnect failed', { orgId, error: err instanceof Error ? err.message : String(err) });
  }
}
