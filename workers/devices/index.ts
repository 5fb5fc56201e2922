import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { claimRoutes } from './claim.ts';
import { connect } from './connect.ts';
import { deviceProxy } from './proxy.ts';

/**
 * The device-facing edge: the agent's tunnel (`GET /devices/connect`) and the device proxy
 * (`ANY /devices/:deviceId/proxy/*`), both served by the device's DeviceTunnel Durable Object. `POST /api/devices/claim`
 * is mounted here until workers/api mounts `claimRoutes` itself.
 */
export const devices = new Hono<AppEnv>().route('/', connect).route('/', deviceProxy).route('/', claimRoutes);
