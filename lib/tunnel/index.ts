/**
 * The device tunnel protocol (docs/tunnel-protocol.md), shared by the DeviceTunnel Durable Object and the Node agent.
 * Pure and runtime-neutral: frames in, results out; the callers own the sockets.
 */
export * from './frame.ts';
export * from './control.ts';
export * from './encode.ts';
export * from './decode.ts';
export * from './flow.ts';
export * from './stream.ts';
export * from './streams.ts';
export * from './message.ts';
export * from './batch.ts';
