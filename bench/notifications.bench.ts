/**
 * Notification fan-out: how long one device notification takes to reach 1,000 subscriptions, measured from the
 * device's POST /device-api/v1/notifications (202) to the 1,000th webhook arriving at a local receiver, through the
 * real local Queue and consumer under wrangler dev. Next to it, in the same run: the same 1,000 signed webhook POSTs
 * sent straight from Node (a worker thread) at the same concurrency (what the receiver and loopback HTTP cost by themselves), and the
 * queue's own latency (202 to the first webhook; wrangler.toml's max_batch_timeout is 1 s).
 */
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { createMultiFernet } from '../lib/fernet.ts';
import { generateWebhookSecret } from '../lib/webhook-signature.ts';
import { deviceUsers, notificationSubscriptions } from '../schema/index.ts';
import { openLocalD1 } from '../scripts/lib/local-d1.ts';
import { startLocalServer } from '../scripts/lib/local-server.ts';
import { createUser } from '../workers/auth/store/users.ts';
import { database } from '../workers/db.ts';
import { deviceJwt, seedActors, type Actor } from '../test/e2e/notifications-harness.test-fixture.ts';
import { listen } from '../test/e2e/notifications-standins.test-fixture.ts';
import { table } from './lib/load.ts';

const SUBSCRIPTIONS = Number(process.env.BENCH_NOTIFY_SUBSCRIPTIONS ?? 1000);
const USERS = 20;
const RUNS = 3;
const CONCURRENCY = 32; // NOTIFY_CONCURRENCY's default

type Arrival = { id: string; path: string; at: number };

async function seed(ctx: { configPath: string; stateDir: string; secrets: Record<string, string> }, receiver: string, secret: string): Promise<Actor> {
  const actor = (await seedActors(ctx, ['bench']))['bench']!;
  const local = await openLocalD1(ctx);
  try {
    const db = database(local.db);
    const fernet = createMultiFernet(ctx.secrets.CLAIMS_FERNET_KEYS ?? '');
    const userIds = [actor.userId];
    for (let u = 1; u < USERS; u++) {
      const id = crypto.randomUUID();
      await createUser(db, fernet, { id, email: `bench-${u}-${id.slice(0, 6)}@example.com`, password: 'bench password 123', status: 'CONFIRMED', emailVerified: true, groups: [], claims: {} });
      await db.insert(deviceUsers).values({ deviceId: actor.deviceId, userId: id, role: 'viewer', grantedBy: 'bench' });
      userIds.push(id);
    }
    const encrypted = await fernet.encrypt(secret);
    const rows = Array.from({ length: SUBSCRIPTIONS }, (_, i) => ({
      id: crypto.randomUUID(),
      userId: userIds[i % USERS]!,
      kind: 'webhook' as const,
      target: `${receiver}/hook/${i}`,
      p256dh: null,
      authSecret: null,
      webhookSecret: encrypted,
    }));
    for (let i = 0; i < rows.length; i += 12) await db.insert(notificationSubscriptions).values(rows.slice(i, i + 12)); // 8 columns: 96 parameters
    return actor;
  } finally {
    await local.dispose();
  }
}

/**
 * The baseline's sender, run in its own thread so that, like workerd, it does not share an event loop with the
 * receiver: `count` signed webhooks straight from Node, `concurrency` at a time; posts back the elapsed ms.
 */
const DIRECT_SENDER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHmac } = require('node:crypto');
const { receiver, secret, count, concurrency } = workerData;
const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
const id = 'direct-' + crypto.randomUUID();
const started = performance.now();
let next = 0;
const worker = async () => {
  while (next < count) {
    const i = next++;
    const body = JSON.stringify({ type: 'device.notification', timestamp: new Date().toISOString(), data: { id, i } });
    const ts = Math.floor(Date.now() / 1000);
    const signature = 'v1,' + createHmac('sha256', key).update(id + '.' + ts + '.' + body).digest('base64');
    const res = await fetch(receiver + '/hook/' + i, { method: 'POST', headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature }, body });
    await res.arrayBuffer();
  }
};
Promise.all(Array.from({ length: concurrency }, worker)).then(() => parentPort.postMessage(performance.now() - started));
`;

/** Sends `count` signed webhooks straight from Node (in a worker thread), `CONCURRENCY` at a time; returns the elapsed ms. */
function direct(receiver: string, secret: string, count: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const thread = new Worker(DIRECT_SENDER, { eval: true, workerData: { receiver, secret, count, concurrency: CONCURRENCY } });
    thread.once('message', (ms: number) => {
      resolve(ms);
      void thread.terminate();
    });
    thread.once('error', reject);
  });
}

/** Runs the benchmark and prints one row per run. */
export default async function notificationsBench(): Promise<void> {
  const arrivals: Arrival[] = [];
  const secret = generateWebhookSecret();
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  let badSignatures = 0;
  // A receiver that checks every signature (the same HMAC cost for the Worker's webhooks and the Node baseline).
  const receiver = await listen((req, body, res) => {
    const at = performance.now();
    const id = String(req.headers['webhook-id']);
    const expected = `v1,${createHmac('sha256', key).update(`${id}.${String(req.headers['webhook-timestamp'])}.${body.toString('utf8')}`).digest('base64')}`;
    if (req.headers['webhook-signature'] !== expected) badSignatures++;
    arrivals.push({ id, path: req.url ?? '', at });
    res.writeHead(204).end();
  });
  let actor: Actor | undefined;
  const server = await startLocalServer({
    root: path.resolve(import.meta.dirname, '..'),
    vars: { DEV_MODE: 'true', NOTIFY_RATE_LIMIT_PER_DEVICE: 'off' },
    prepare: async (ctx) => {
      actor = await seed(ctx, receiver.url, secret);
    },
  });
  try {
    const notify = async () => {
      const res = await fetch(`${server.url}/device-api/v1/notifications`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${await deviceJwt(actor!)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'Bench', body: 'fan-out', severity: 'normal' }),
      });
      if (res.status !== 202) throw new Error(`notify: HTTP ${res.status} ${await res.text()}\n${server.output()}`);
      return ((await res.json()) as { id: string }).id;
    };
    const fanOut = async () => {
      const started = performance.now();
      const id = await notify();
      const deadline = Date.now() + 120_000;
      let got: Arrival[] = [];
      while ((got = arrivals.filter((a) => a.id === id)).length < SUBSCRIPTIONS) {
        if (Date.now() > deadline) throw new Error(`only ${got.length} of ${SUBSCRIPTIONS} webhooks arrived\n${server.output().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      // One webhook per subscription, each correctly signed: a figure for duplicates or bad requests would be worthless.
      if (new Set(got.map((a) => a.path)).size !== SUBSCRIPTIONS) throw new Error('some subscriptions got the notification twice');
      if (badSignatures > 0) throw new Error(`${badSignatures} webhooks had a bad signature`);
      const first = Math.min(...got.map((a) => a.at));
      const last = Math.max(...got.map((a) => a.at));
      return { total: last - started, queue: first - started, send: last - first };
    };
    await fanOut(); // warm-up: isolate, key import, connection pool
    const rows: Record<string, string | number>[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const r = await fanOut();
      const baseline = await direct(receiver.url, secret, SUBSCRIPTIONS);
      rows.push({
        run,
        subscriptions: SUBSCRIPTIONS,
        'POST→last webhook ms': Math.round(r.total),
        'POST→first webhook ms': Math.round(r.queue),
        'first→last ms': Math.round(r.send),
        'webhooks/s (first→last)': Math.round((SUBSCRIPTIONS / r.send) * 1000),
        'node direct ms': Math.round(baseline),
        'node direct webhooks/s': Math.round((SUBSCRIPTIONS / baseline) * 1000),
      });
    }
    table(rows);
    console.log(`${USERS} users × ${SUBSCRIPTIONS / USERS} webhook subscriptions, one device; consumer concurrency ${CONCURRENCY}; server: wrangler dev (workerd, local D1, local Queues) on 127.0.0.1`);
  } finally {
    await server.stop();
    await receiver.close();
  }
}
