import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';

/** The provisioning sub-app; its routes are listed in ARCHITECTURE.md's route map. */
export const provisioning = new Hono<AppEnv>();
