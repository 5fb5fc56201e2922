import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';

/** The api sub-app; its routes are listed in ARCHITECTURE.md's route map. */
export const api = new Hono<AppEnv>();
