/**
 * The device agent's tunnel, for embedding and tests: `startTunnelAgent` runs the reconnecting tunnel in-process,
 * `stateCredential` signs its device JWTs from a state directory, and `createAgentLogger` prints its events.
 */
export { connectUrl, startTunnelAgent, type StopReason, type TunnelAgent, type TunnelAgentOptions } from './agent.ts';
export { createBackoff, fullJitter, type Backoff, type BackoffOptions } from './backoff.ts';
export { connectAudience, stateCredential, type StateCredential } from './credentials.ts';
export { TUNNEL_FILES, readClaimCode, readDeviceToken, type StoredDeviceToken } from './device-files.ts';
export type { TunnelAgentEventName, TunnelAgentEvents } from './events.ts';
export { parseForward, type ForwardTarget } from './forward.ts';
export type { RequestRecord, StreamOutcome } from './link.ts';
export { codeName, createAgentLogger, type AgentLogger } from './log.ts';
export { AGENT_VERSION } from './version.ts';
