/**
 * Holds many device tunnels from one process, for the tunnel benchmark's connection-count row: one real
 * `startTunnelAgent` (agent/tunnel) per device, each signing its own device JWTs, as many agents on one host would.
 * Argument: a JSON file `{ forward, concurrency, deadlineSeconds, devices: [{ deviceId, keyPem, certPem, chainPem, url }] }`.
 * Connects are opened `concurrency` at a time (a fleet after an outage reconnects spread out by its backoff, not in
 * one instant). It reports `{ type: 'progress', … }` to its parent over IPC every second, and `{ type: 'done', … }`
 * once every device is ready or the deadline has passed, with how many are up at that moment and why attempts were
 * refused or tunnels dropped; on `{ type: 'stop' }` it stops every agent and exits.
 */
import { readFileSync } from 'node:fs';
import { importPrivateKeyPem } from '../../agent/csr.ts';
import { createDeviceJwt, x5cFor } from '../../agent/device-jwt.ts';
import { connectAudience, startTunnelAgent, type TunnelAgent } from '../../agent/tunnel/index.ts';

/** A device, and the Gatehouse (one workerd of several) it connects to. */
type FleetDevice = { deviceId: string; keyPem: string; certPem: string; chainPem: string; url: string };
type FleetInput = { forward: string; concurrency: number; deadlineSeconds: number; devices: FleetDevice[] };

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as FleetInput;
const send = (m: object) => process.send?.(m);
const agents: TunnelAgent[] = [];
let connected = 0;
let ready = 0;
let refused = 0;
let next = 0;
const startedAt = performance.now();
const reasons = new Map<string, number>();
const note = (why: string) => reasons.set(why, (reasons.get(why) ?? 0) + 1);

// A device is "ready" once its tunnel is up and the object has pushed it its device token (hello answered).
async function startOne(d: FleetDevice): Promise<void> {
  const privateKey = await importPrivateKeyPem(d.keyPem);
  const x5c = x5cFor(d.certPem, d.chainPem);
  const audience = connectAudience(d.url);
  const agent = startTunnelAgent({
    url: d.url,
    forward: input.forward,
    deviceId: d.deviceId,
    credential: () => createDeviceJwt({ privateKey, x5c, deviceId: d.deviceId, audience }),
  });
  agents.push(agent);
  await new Promise<void>((resolve) => {
    agent.events.once('connected', () => connected++);
    agent.events.on('refused', (e) => {
      refused++;
      note(`refused ${e.status ?? ''} ${e.reason}`.replace(/\s+/g, ' '));
    });
    agent.events.on('disconnected', (e) => note(`dropped ${e.code} ${e.reason} (by ${e.by})`));
    agent.events.once('device_token', () => {
      ready++;
      resolve();
    });
  });
}

async function lane(): Promise<void> {
  while (next < input.devices.length) await startOne(input.devices[next++]!);
}

const report = (type: string) => ({
  type,
  connected,
  ready,
  refused,
  up: agents.filter((a) => a.connected()).length,
  seconds: (performance.now() - startedAt) / 1000,
  reasons: [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 5),
});
const progress = setInterval(() => send(report('progress')), 1000);
await Promise.race([Promise.all(Array.from({ length: input.concurrency }, lane)), new Promise((r) => setTimeout(r, input.deadlineSeconds * 1000))]);
clearInterval(progress);
send(report('done'));

process.on('message', (m: { type: string }) => {
  if (m.type !== 'stop') return;
  void Promise.all(agents.map((a) => a.stop({ deadlineMs: 0 }))).then(() => process.exit(0));
});
process.on('disconnect', () => process.exit(0));
