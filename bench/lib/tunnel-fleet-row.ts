/**
 * The tunnel benchmark's connection-count row: enrol a fleet over EST, then hold every device's tunnel at once from a
 * fleet process (bench/lib/tunnel-fleet.ts), spread over as many workerd processes as the open-file limit needs, and
 * measure the time to get them all up and workerd's memory.
 */
import { fork, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildCsr, generateDeviceKey, privateKeyPem } from '../../agent/csr.ts';
import { deviceIdOf, fetchCaCerts, simpleEnroll } from '../../agent/est-client.ts';
import { pemOf } from '../../agent/state.ts';
import { MiB, rssOf, rssOfAll } from './rss.ts';
import { removeDir } from './workerd.ts';

/** How the fleet is brought up. */
export type FleetOptions = { concurrency: number; deadlineSeconds: number; enrolConcurrency: number };

/** Enrols `count` devices over EST (keys and CSRs made here, as the agent makes them), `concurrency` at a time. */
async function enrolFleet(url: string, otps: string[], count: number, concurrency: number) {
  const chainPem = pemOf(await fetchCaCerts(url));
  const devices: { deviceId: string; keyPem: string; certPem: string; chainPem: string }[] = [];
  let next = 0;
  const lane = async () => {
    while (next < count) {
      next++;
      const keys = await generateDeviceKey();
      const cert = await simpleEnroll(url, otps.pop()!, await buildCsr(keys));
      devices.push({ deviceId: deviceIdOf(cert), keyPem: await privateKeyPem(keys.privateKey), certPem: cert.toString('pem'), chainPem });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return devices;
}

type FleetReport = { ready: number; refused: number; up: number; seconds: number; reasons: [string, number][] };
export type FleetResult = FleetReport & { n: number; shards: number; peakUp: number; rssAtPeak: number; upAfterIdle: number; reasonsAfterIdle: [string, number][]; workerd: { before: number; ready: number; idle: number }; fleetRss: number };

/**
 * Descriptors workerd needs per connected device: it holds each accepted WebSocket's socket twice (a dup), and an
 * object that is awake keeps its SQLite database, WAL and shared memory open (three more).
 */
const FDS_PER_DEVICE = 5;

/** The hard limit on open files (`ulimit -Hn`): serveOnWorkerd raises workerd's soft limit to it. */
function openFileLimit(): number {
  const out = spawnSync('/bin/sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
  return out === 'unlimited' ? Infinity : Number(out) || 1024;
}

/** A workerd serving the Gatehouse bundle for part of the fleet. */
export type Shard = { url: string; pid: number; stop?: () => Promise<void> };

/**
 * Holds `count` tunnels at once from a fleet process and measures the time to get them all up and workerd's memory.
 * One workerd can hold only as many devices as its open-file limit allows (FDS_PER_DEVICE each), and that limit
 * cannot be raised without CAP_SYS_RESOURCE; beyond it the fleet is spread over more workerd processes, each serving
 * the same bundle over a copy of the enrolled database (`startShard`), and their memory is summed.
 */
export async function holdFleet(main: Shard, startShard: () => Promise<Shard>, origin: string, otps: string[], count: number, opts: FleetOptions): Promise<FleetResult> {
  const t0 = performance.now();
  const enrolled = await enrolFleet(main.url, otps, count, opts.enrolConcurrency);
  console.log(`  enrolled ${count.toLocaleString('en-US')} fleet devices over EST in ${((performance.now() - t0) / 1000).toFixed(1)} s (not part of the figures)`);
  const perShard = Math.max(100, Math.floor((openFileLimit() - 2000) / FDS_PER_DEVICE));
  const shards: Shard[] = [main];
  while (shards.length * perShard < count) shards.push(await startShard());
  if (shards.length > 1) {
    console.log(`  open-file limit ${openFileLimit().toLocaleString('en-US')}: at most ${perShard.toLocaleString('en-US')} devices per workerd, so ${shards.length} workerd processes share the fleet`);
  }
  const devices = enrolled.map((d, i) => ({ ...d, url: shards[i % shards.length]!.url }));
  const pids = shards.map((s) => s.pid);
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-fleet-')), 'fleet.json');
  writeFileSync(file, JSON.stringify({ forward: origin, concurrency: opts.concurrency, deadlineSeconds: opts.deadlineSeconds, devices }));
  await sleep(2000);
  const before = rssOfAll(pids);
  const fleet = fork(path.join(import.meta.dirname, 'tunnel-fleet.ts'), [file], { execPath: process.execPath, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    let latest: FleetReport | undefined;
    let peakUp = 0;
    let rssAtPeak = NaN;
    const done = await new Promise<FleetReport>((resolve, reject) => {
      let lastPrint = 0;
      fleet.on('message', (m: FleetReport & { type: string }) => {
        latest = m;
        if (m.up > peakUp) {
          peakUp = m.up;
          rssAtPeak = rssOfAll(pids);
        }
        if (m.type === 'done') resolve(m);
        else if (m.seconds > opts.deadlineSeconds + 30) resolve(m); // the fleet is too busy to notice its own deadline
        else if (m.seconds - lastPrint >= 10) {
          lastPrint = m.seconds;
          console.log(`  ${m.ready.toLocaleString('en-US')} devices have been up, ${m.up.toLocaleString('en-US')} up now, after ${m.seconds.toFixed(0)} s (${m.refused} refused attempts), workerd RSS ${MiB(rssOfAll(pids))}`);
        }
      });
      fleet.once('exit', (code) => reject(new Error(`fleet exited ${code}`)));
    });
    const ready = rssOfAll(pids);
    const fleetRss = rssOf(fleet.pid!);
    // Idle for a while: hibernatable sockets let the runtime evict the objects; the heartbeat is auto-answered.
    await sleep(15_000);
    const idle = rssOfAll(pids);
    await sleep(1500); // one more progress report, for the count after the idle period
    return { ...done, n: count, shards: shards.length, peakUp, rssAtPeak, upAfterIdle: latest!.up, reasonsAfterIdle: latest!.reasons, workerd: { before, ready, idle }, fleetRss };
  } finally {
    for (const shard of shards.slice(1)) await shard.stop?.();
    fleet.send?.({ type: 'stop' });
    await Promise.race([new Promise((r) => fleet.once('exit', r)), sleep(30_000)]);
    if (fleet.exitCode === null && fleet.signalCode === null) fleet.kill('SIGKILL');
    removeDir(path.dirname(file));
  }
}
