import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';

/** The gateway sub-app; its routes are listed in ARCHITECTURE.md's route map. */
export const gateway = new Hono<AppEnv>();
