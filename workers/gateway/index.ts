import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { hasura } from './hasura.ts';

/** The gateway sub-app: `ANY /v1/graphql` (and its WebSocket subscriptions) to Hasura; see ARCHITECTURE.md's route map. */
export const gateway = new Hono<AppEnv>().route('/', hasura);
