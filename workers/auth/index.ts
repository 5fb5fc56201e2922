import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { cognitoApi } from './cognito/index.ts';
import { discovery } from './discovery.ts';
import { hosted } from './hosted/index.ts';
import { revoke } from './revoke.ts';
import { token } from './token.ts';
import { userinfo } from './userinfo.ts';

/** The identity provider: discovery, JWKS, token, userinfo, revoke, and the hosted pages. */
export const auth = new Hono<AppEnv>().route('/', discovery).route('/', token).route('/', userinfo).route('/', revoke).route('/', hosted).route('/', cognitoApi);
