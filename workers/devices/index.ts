import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { connect } from './connect.ts';
import { deviceProxy } from './proxy.ts';

/**
 * The device-facing edge: the agent's tunnel (`GET /devices/connect`) and the device proxy
 * (`ANY /devices/:deviceId/proxy/*`), both served by the device's DeviceTunnel Durable Object. Claiming
 * (`POST /api/devices/claim`, claim.ts) belongs to the Client API, which mounts it (workers/api/index.ts).
 */
export const devices = new Hono<AppEnv>().route('/', connect).route('/', deviceProxy);
