import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';

/** The devices sub-app; its routes are listed in ARCHITECTURE.md's route map. */
export const devices = new Hono<AppEnv>();
