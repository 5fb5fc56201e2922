import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';

/** The notifications sub-app; its routes are listed in ARCHITECTURE.md's route map. */
export const notifications = new Hono<AppEnv>();
