import type { Logger } from './middleware/logger.ts';

/** The one Hono environment type every sub-app shares (STYLE.md rule 4). */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    requestId: string;
    log: Logger;
  };
};
