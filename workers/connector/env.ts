import type { ConnectorConfig, ConnectorSettings } from './config.ts';

/** The caller, once admitted (`role` is `none` when authentication is off). */
export type Caller = { subject: string | null; role: string; token: string | null };

/** The connector's Hono env: its bindings, the validated settings and configuration, and the caller. */
export type ConnectorEnv = {
  Bindings: Env;
  Variables: { settings: ConnectorSettings; config: ConnectorConfig; caller: Caller; requestId: string };
};
