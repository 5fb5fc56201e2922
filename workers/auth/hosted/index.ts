import { Hono } from 'hono';
import type { AppEnv } from '../../app-env.ts';

/** Hosted pages and the browser side of the code flow: /oauth2/authorize, /login, /signup, /confirm, /forgot-password, logout. */
export const hosted = new Hono<AppEnv>();
