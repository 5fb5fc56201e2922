import { parseRateRule, type RateRule } from '../gateway/config.ts';

/**
 * Device Gateway settings: optional vars, read defensively with defaults; a value that is set but invalid throws with
 * its name (a 500 the logs explain).
 */
export type DeviceApiBindings = Env & { EVENTS_RATE_LIMIT_PER_DEVICE?: string };

/** The parsed settings. */
export type DeviceApiSettings = {
  /** `POST /device-api/v1/events` batches per device, `<requests>/<seconds>` (default 120/60) or `off`. */
  eventsPerDevice: RateRule | null;
};

const cache = new WeakMap<object, DeviceApiSettings>();

/** Reads the Device Gateway settings of an env (cached per env object). */
export function deviceApiSettings(env: Env): DeviceApiSettings {
  let settings = cache.get(env);
  if (!settings) {
    const vars = env as DeviceApiBindings;
    settings = { eventsPerDevice: parseRateRule('EVENTS_RATE_LIMIT_PER_DEVICE', vars.EVENTS_RATE_LIMIT_PER_DEVICE, { limit: 120, windowSeconds: 60 }) };
    cache.set(env, settings);
  }
  return settings;
}
