/**
 * `gatehouse-agent connect`: keeps the device's tunnel to Gatehouse open and forwards what comes through it to a
 * local service. It runs until SIGINT or SIGTERM, then drains in-flight requests (GOAWAY, up to the deadline) and
 * exits 0. A second signal cuts the drain short.
 */
import { parseOptions, required, STATE_DIR_OPTION, type Command } from './command.ts';
import { serverUrl } from './enroll.ts';
import { AgentError, EXIT } from './errors.ts';
import { loadState, resolveStateDir } from './state.ts';
import { RENEWAL_CHECK_MS, stateCredential } from './tunnel/credentials.ts';
import { parseForward, type ForwardTarget } from './tunnel/forward.ts';
import { createAgentLogger } from './tunnel/log.ts';
import { startTunnelAgent, type StopReason } from './tunnel/agent.ts';
import { AGENT_VERSION } from './tunnel/version.ts';

const USAGE =
  'gatehouse-agent connect --forward http://127.0.0.1:PORT [--url URL] [--state-dir DIR] [--json] ' +
  '[--mtls] [--exit-on-auth-failure] [--shutdown-timeout SECONDS] [--max-streams N]';

function positiveInt(value: string | undefined, name: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new AgentError(EXIT.USAGE, `--${name} must be an integer from 0 to ${max}\nusage: ${USAGE}`);
  return n;
}

const EXIT_OF: Record<StopReason, (typeof EXIT)[keyof typeof EXIT]> = { stopped: EXIT.OK, auth_failed: EXIT.DEVICE_AUTH, replaced: EXIT.REJECTED };

/** `connect`: the tunnel, with reconnects, heartbeats, per-request logs and a graceful shutdown. */
export const connect: Command = {
  name: 'connect',
  summary: 'open the device tunnel and forward proxied requests to a local service (runs until SIGINT/SIGTERM)',
  usage: USAGE,
  async run(args) {
    const opts = parseOptions(
      args,
      {
        url: { type: 'string' },
        forward: { type: 'string' },
        json: { type: 'boolean' },
        mtls: { type: 'boolean' },
        'exit-on-auth-failure': { type: 'boolean' },
        'shutdown-timeout': { type: 'string' },
        'max-streams': { type: 'string' },
        ...STATE_DIR_OPTION,
      },
      USAGE,
    );
    let target: ForwardTarget;
    try {
      target = parseForward(required(opts.forward, 'forward', USAGE));
    } catch (err) {
      if (err instanceof AgentError) throw err;
      throw new AgentError(EXIT.USAGE, `${err instanceof Error ? err.message : String(err)}\nusage: ${USAGE}`);
    }
    const shutdownSeconds = positiveInt(opts['shutdown-timeout'], 'shutdown-timeout', 3600) ?? 10;
    const maxStreams = positiveInt(opts['max-streams'], 'max-streams', 65_536);
    if (maxStreams === 0) throw new AgentError(EXIT.USAGE, `--max-streams must be at least 1\nusage: ${USAGE}`);
    const dir = resolveStateDir(opts['state-dir']);
    const state = loadState(dir);
    const url = serverUrl(opts.url ?? state.url, USAGE);

    const log = createAgentLogger({ json: opts.json === true });
    log.line(
      'starting',
      { version: AGENT_VERSION, deviceId: state.deviceId, url, forward: target.origin + target.prefix, stateDir: dir },
      `gatehouse-agent ${AGENT_VERSION} device=${state.deviceId} server=${url} forward=${target.origin}${target.prefix}`,
    );
    const credential = stateCredential(dir, {
      url,
      onRenewed: (notAfter) => log.line('renewed', { notAfter: notAfter.toISOString() }, `certificate renewed, valid until ${notAfter.toISOString()}`),
      onRenewalFailed: (message) => log.line('warning', { message: `certificate renewal failed: ${message}` }, `warning: certificate renewal failed: ${message}`, 'warn'),
    });
    const mtls = opts.mtls === true;
    const agent = startTunnelAgent({
      url,
      forward: target,
      // With --mtls the certificate authenticates in the TLS handshake (Cloudflare mTLS) and no JWT is sent.
      ...(mtls
        ? { clientCertificate: () => {
            const current = loadState(dir);
            return { cert: `${current.certPem.trim()}\n${current.chainPem}`, key: current.keyPem };
          } }
        : { credential }),
      deviceId: state.deviceId,
      stateDir: dir,
      shutdownDeadlineMs: shutdownSeconds * 1000,
      exitOnAuthFailure: opts['exit-on-auth-failure'] === true,
      ...(maxStreams === undefined ? {} : { settings: { maxConcurrentStreams: maxStreams } }),
    });
    log.attach(agent.events);

    // Without a JWT per attempt (which checks first), --mtls checks for a due renewal at start, then hourly.
    if (mtls) void credential.checkRenewal();
    const renewal = setInterval(() => void credential.checkRenewal(), RENEWAL_CHECK_MS);
    renewal.unref();
    let signals = 0;
    const onSignal = () => {
      signals++;
      void agent.stop(signals > 1 ? { deadlineMs: 0 } : {});
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      return EXIT_OF[await agent.done];
    } finally {
      clearInterval(renewal);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
