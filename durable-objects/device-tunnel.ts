import { DurableObject } from 'cloudflare:workers';

/**
 * One object per device (named by device id) that will hold the device's multiplexed WebSocket tunnel.
 * The tunnel issue gives it its behaviour; until then nothing routes to it.
 */
export class DeviceTunnel extends DurableObject<Env> {}
