import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';

/** The auth sub-app; its routes are listed in ARCHITECTURE.md's route map. */
export const auth = new Hono<AppEnv>();
