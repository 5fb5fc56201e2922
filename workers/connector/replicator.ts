/**
 * The Replicator Durable Object (one, named "main") owns replication: it pulls the organisation's log in pages from
 * the cursor stored in D1, then keeps the platform's push stream open as the fast path, writing what it pushes in small
 * batches. Every write is one D1 batch of rows + rule runs + cursor, so a crash anywhere resumes from the last batch
 * with nothing lost or duplicated. An alarm re-syncs after a drop (and checks the stream's health while it is up).
 */
import { DurableObject } from 'cloudflare:workers';
import { streamServerFrame, type RecordView } from '../../lib/records/view.ts';
import type { SigningKeyLookup } from '../../lib/records/signature.ts';
import { loadConfig, parseSettings, type ConnectorSettings } from './config.ts';
import { orgKeys } from './keys.ts';
import { platformClient, serviceCredentials, serviceToken, type PlatformClient } from './platform.ts';
import { retryUndecryptable } from './replication/retry.ts';
import { rowOf } from './replication/row.ts';
import { counts, markCaughtUp, readState, recordError, resetReplication, writePage } from './replication/store.ts';
import { runDueRules } from './rules/run.ts';

/** What `GET /replication/status` reports. */
export type ReplicationStatus = {
  cursor: string | null;
  stream: 'open' | 'closed';
  /** False while the platform has entries after the cursor, or cannot be asked. */
  caughtUp: boolean;
  /** Entries waiting after the cursor (at most one page is counted: `capped`), and the age of the oldest; null when the platform cannot be asked. */
  lag: { records: number; capped: boolean; seconds: number } | null;
  counts: Awaited<ReturnType<typeof counts>>;
  pages: number;
  lastSyncAt: string | null;
  lastError: { message: string; at: string } | null;
};

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class Replicator extends DurableObject<Env> {
  private tail: Promise<unknown> = Promise.resolve();
  private socket: WebSocket | undefined;
  private lastPong = 0;
  private buffer: { cursor: string; record: RecordView }[] = [];
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private syncing = false;
  private signingKeys = new Map<string, { jwk: Record<string, unknown>; status: 'active' | 'retired' }>();
  private signingKeysAt = 0;

  private settings(): ConnectorSettings {
    return parseSettings(this.env);
  }

  private client(): PlatformClient {
    const settings = this.settings();
    const creds = serviceCredentials(this.env);
    return platformClient(settings, (fresh) => serviceToken(settings, creds, { fresh }));
  }

  /** Runs `task` after every earlier one: pages, stream batches, retries and resets never interleave. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Starts a sync unless one is running or the stream is up; makes sure an alarm is set. Cheap: called on every request. */
  async ensureRunning(): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + this.settings().resyncSeconds * 1000);
    if (!this.socket && !this.syncing) this.ctx.waitUntil(this.sync().catch(() => undefined));
  }

  override async alarm(): Promise<void> {
    const settings = this.settings();
    await this.ctx.storage.setAlarm(Date.now() + settings.resyncSeconds * 1000);
    if (this.socket) {
      // A stream that has not answered a ping since the last check is dead: drop it and re-sync from the cursor.
      if (this.lastPong < Date.now() - 2 * settings.resyncSeconds * 1000) this.dropStream('no pong from the platform');
      else this.socket.send(JSON.stringify({ type: 'ping' }));
    }
    if (!this.socket) await this.sync().catch(() => undefined);
    await this.rules().catch(() => undefined);
  }

  private async lookupFor(client: PlatformClient): Promise<SigningKeyLookup> {
    const keys = await orgKeys(this.env);
    if (Date.now() - this.signingKeysAt > 60_000) {
      this.signingKeys = new Map((await client.signingKeys()).map((k) => [k.kid, { jwk: k.jwk, status: k.status === 'active' ? 'active' : 'retired' }]));
      this.signingKeysAt = Date.now();
    }
    // The connector's own key verifies what it signed even before the platform lists it.
    if (!this.signingKeys.has(keys.signing.kid)) this.signingKeys.set(keys.signing.kid, { jwk: keys.signing.publicJwk as Record<string, unknown>, status: 'active' });
    const map = this.signingKeys;
    return (kid) => map.get(kid);
  }

  /** Decrypts, verifies and writes entries with the cursor after them, in one batch. */
  private async ingest(client: PlatformClient, entries: RecordView[], cursor: string): Promise<number> {
    const keys = await orgKeys(this.env);
    let lookup = await this.lookupFor(client);
    if (entries.some((e) => e.sigKid && !lookup(e.sigKid))) {
      this.signingKeysAt = 0; // a key registered since the last look
      lookup = await this.lookupFor(client);
    }
    const rows = [];
    for (const e of entries) rows.push(await rowOf(e, keys.decryption, lookup));
    return writePage(this.env.DB, loadConfig(this.env).rules, rows, cursor);
  }

  /** Retries undecryptable rows when the set of decryption kids changed since the last retry. */
  private async retryIfKeysChanged(): Promise<void> {
    const keys = await orgKeys(this.env);
    const kids = [...keys.decryption.keys()].sort().join(',');
    const state = await readState(this.env.DB);
    if (state.key_kids === kids) return;
    await retryUndecryptable(this.env.DB, keys.decryption, loadConfig(this.env).rules);
    await this.env.DB.prepare('UPDATE replication_state SET key_kids = ? WHERE id = 1').bind(kids).run();
  }

  /** Pulls pages from the cursor until the log's end, then opens the push stream. */
  sync(): Promise<void> {
    if (this.syncing) return Promise.resolve();
    this.syncing = true;
    return this.serial(async () => {
      const db = this.env.DB;
      try {
        const client = this.client();
        await this.retryIfKeysChanged();
        let { cursor } = await readState(db);
        for (;;) {
          const page = await client.page(cursor, this.settings().pageSize);
          await this.ingest(client, page.records, page.cursor);
          cursor = page.cursor;
          if (!page.hasMore) break;
        }
        await markCaughtUp(db);
        if (!this.socket) await this.openStream(client, cursor);
      } catch (e) {
        await recordError(db, e instanceof Error ? e.message : 'replication failed');
        throw e;
      } finally {
        this.syncing = false;
      }
    }).then(() => this.rules().then(() => undefined));
  }

  private async openStream(client: PlatformClient, cursor: string | null): Promise<void> {
    const ws = await client.stream(cursor);
    this.socket = ws;
    this.lastPong = Date.now();
    ws.addEventListener('message', (event) => {
      if (this.socket !== ws) return;
      let frame;
      try {
        frame = streamServerFrame.parse(JSON.parse(typeof event.data === 'string' ? event.data : new TextDecoder().decode(event.data as ArrayBuffer)));
      } catch {
        this.dropStream('the platform sent a frame that is not a stream frame');
        return;
      }
      this.lastPong = Date.now();
      if (frame.type === 'record') {
        this.buffer.push({ cursor: frame.cursor, record: frame.record });
        if (this.buffer.length >= this.settings().pageSize) this.flush(client);
        else this.flushTimer ??= setTimeout(() => this.flush(client), 25);
      } else if (frame.type === 'caught_up') {
        this.flush(client);
        void this.serial(() => markCaughtUp(this.env.DB));
      } else if (frame.type === 'error') this.dropStream(`the platform closed the stream: ${frame.error}`);
    });
    const closed = (why: string) => () => {
      if (this.socket === ws) this.dropStream(why);
    };
    ws.addEventListener('close', closed('the platform closed the stream'));
    ws.addEventListener('error', closed('the stream failed'));
  }

  private flush(client: PlatformClient): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    const last = batch.at(-1);
    if (!last) return;
    const written = this.serial(async () => {
      try {
        await this.ingest(client, batch.map((b) => b.record), last.cursor);
        return true;
      } catch (e) {
        await recordError(this.env.DB, e instanceof Error ? e.message : 'stream write failed');
        this.dropStream('a stream batch could not be written');
        return false;
      }
    });
    // After the batch, not inside it: rules() queues behind the batch on the same serial chain.
    this.ctx.waitUntil(written.then((ok) => (ok ? this.rules() : 0)).catch(() => undefined));
  }

  /** Forgets the stream (unwritten frames are re-read from the cursor) and re-syncs soon. */
  private dropStream(why: string, quiet = false): void {
    const ws = this.socket;
    this.socket = undefined;
    this.buffer = [];
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    try {
      ws?.close(1000, 'resync');
    } catch {
      /* already closed */
    }
    this.ctx.waitUntil((quiet ? Promise.resolve() : recordError(this.env.DB, why)).then(() => this.ctx.storage.setAlarm(Date.now() + 1000)));
  }

  private rules(): Promise<number> {
    const config = loadConfig(this.env);
    if (config.rules.length === 0) return Promise.resolve(0);
    return this.serial(async () => runDueRules(this.env.DB, config.rules, { orgId: this.settings().orgId, keys: await orgKeys(this.env), platform: this.client(), secrets: this.env as unknown as Record<string, unknown> }));
  }

  /** Waits until replication has nothing queued (for tests and the status page's consistency). */
  async settle(): Promise<void> {
    await this.tail;
  }

  /** The replication status; the lag probe reads (at most one page) after the cursor from the platform. */
  async status(): Promise<ReplicationStatus> {
    const db = this.env.DB;
    const state = await readState(db);
    let lag: ReplicationStatus['lag'] = null;
    try {
      const ahead = await this.client().page(state.cursor, 500);
      const oldest = ahead.records[0];
      lag = { records: ahead.records.length, capped: ahead.hasMore, seconds: oldest ? Math.max(0, Math.round((Date.now() - Date.parse(oldest.receivedAt)) / 1000)) : 0 };
    } catch {
      /* the platform is unreachable: last_error says why */
    }
    return {
      cursor: state.cursor,
      stream: this.socket ? 'open' : 'closed',
      caughtUp: lag?.records === 0,
      lag,
      counts: await counts(db),
      pages: state.pages,
      lastSyncAt: iso(state.last_sync_at),
      lastError: state.last_error ? { message: state.last_error, at: iso(state.last_error_at) ?? '' } : null,
    };
  }

  /** Forgets everything replicated and replicates again from the start (rule history is kept: nothing fires twice). */
  async backfill(): Promise<void> {
    this.dropStream('backfill', true);
    await this.serial(() => resetReplication(this.env.DB));
    await this.sync();
  }

  /** Retries undecryptable records now. */
  async retryFailed(): Promise<{ decrypted: number; stillFailing: number }> {
    return this.serial(async () => retryUndecryptable(this.env.DB, (await orgKeys(this.env)).decryption, loadConfig(this.env).rules));
  }
}
