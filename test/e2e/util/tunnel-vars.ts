/**
 * Tunnel timings of the shared e2e server (test/e2e/global-setup.ts): a 3 s response-head timeout (504), 2 s
 * heartbeats with a 2 s timeout, and a socket silent for 6 s counts as dead. Short, so the timeout tests stay fast.
 */
export const TUNNEL_TEST_VARS = { TUNNEL_RESPONSE_TIMEOUT_SECONDS: '3', TUNNEL_PING_INTERVAL_SECONDS: '2', TUNNEL_PING_TIMEOUT_SECONDS: '2', TUNNEL_DEAD_AFTER_SECONDS: '6' };
