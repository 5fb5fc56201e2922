import { Hono } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { idpResponse } from './callback.ts';
import { federate } from './federate.ts';

/** Federation with upstream OpenID Connect providers: the sign-in page's provider links and the IdP callback. */
export const federation = new Hono<AppEnv>().route('/', federate).route('/', idpResponse);
