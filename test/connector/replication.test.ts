import { env } from 'cloudflare:workers';
import { importJWK, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { EVENT_JWE_ALG } from '../../lib/records/jwe-header.ts';
import { loadConfig } from '../../workers/connector/config.ts';
import { orgKeys } from '../../workers/connector/keys.ts';
import { retryUndecryptable } from '../../workers/connector/replication/retry.ts';
import { readState } from '../../workers/connector/replication/store.ts';
import { event, get, orgKey, replicate, sealingKeyOf, unique } from './connector.test-fixture.ts';

type Out = { id: string; payload: unknown; decryption: { status: string; kid: string | null; error?: string }; signature: { status: string } };

describe('replication write path', () => {
  it('decrypts by kid (every key of the set), stores page and cursor together, and is idempotent on record id', async () => {
    const d = unique();
    const k1 = await orgKey(0);
    const k2 = await orgKey(1);
    const entries = [
      await event({ id: `${d}-a`, type: 'sensor.reading', time: '2026-11-25T10:00:00Z', deviceId: d, data: { temperature: 21.5, site: 'north hall' } }, k1),
      await event({ id: `${d}-b`, type: 'sensor.reading', time: '2026-11-25T10:01:00Z', deviceId: d, data: { temperature: 22, site: 'south yard' } }, k2),
    ];
    expect(await replicate(entries, `${d}-cursor-1`)).toBe(2);
    expect((await readState(env.DB)).cursor).toBe(`${d}-cursor-1`);
    // The same page again (a re-sync after a crash): nothing new, the cursor still moves.
    expect(await replicate(entries, `${d}-cursor-2`)).toBe(0);
    expect((await readState(env.DB)).cursor).toBe(`${d}-cursor-2`);
    const a = await get<Out>(`/records/${d}-a`);
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ id: `${d}-a`, payload: { temperature: 21.5, site: 'north hall' }, decryption: { status: 'ok', kid: 'test-enc-1' }, signature: { status: 'none' } });
    expect((await get<Out>(`/records/${d}-b`)).body.decryption.kid).toBe('test-enc-2');
    expect((await env.DB.prepare('SELECT COUNT(*) AS n FROM records WHERE device_id = ?').bind(d).first<{ n: number }>())?.n).toBe(2);
  });

  it('keeps an undecryptable record with its reason, counts it, and decrypts it once its key is added', async () => {
    const d = unique();
    const foreign = await sealingKeyOf(env.TEST_FOREIGN_KEY);
    await replicate([await event({ id: `${d}-x`, type: 'sensor.reading', time: '2026-11-25T10:00:00Z', deviceId: d, data: { temperature: 99, status: 'rotated' } }, foreign)]);
    const before = await get<Out>(`/records/${d}-x`);
    expect(before.body.payload).toBeNull();
    expect(before.body.decryption).toEqual({ status: 'failed', kid: 'test-enc-foreign', error: 'unknown_kid: no decryption key with kid "test-enc-foreign"' });
    expect((await get<{ results: unknown[] }>(`/search?q=rotated&device=${d}`)).body.results).toHaveLength(0);

    // The key comes back (added to ORG_ENCRYPTION_KEYS): the retry decrypts, indexes it and fires the rules it matches.
    const keys = new Map((await orgKeys(env)).decryption);
    const jwk = JSON.parse(env.TEST_FOREIGN_KEY) as JWK & { kid: string };
    keys.set(jwk.kid, await importJWK(jwk, EVENT_JWE_ALG));
    const retried = await retryUndecryptable(env.DB, keys, loadConfig(env).rules);
    expect(retried.decrypted).toBeGreaterThanOrEqual(1);
    const after = await get<Out>(`/records/${d}-x`);
    expect(after.body).toMatchObject({ payload: { temperature: 99, status: 'rotated' }, decryption: { status: 'ok', kid: 'test-enc-foreign' } });
    expect((await get<{ results: Out[] }>(`/search?q=rotated&device=${d}`)).body.results.map((r) => r.id)).toEqual([`${d}-x`]);
    // temperature 99 > 80: the bundled "overheat" rule now has its run, exactly one.
    const runs = await env.DB.prepare('SELECT rule, status FROM rule_runs WHERE record_id = ?').bind(`${d}-x`).all();
    expect(runs.results).toEqual([{ rule: 'overheat', status: 'pending' }]);
  });

  it('refuses a relabelled ciphertext (evt header does not match the clear metadata)', async () => {
    const d = unique();
    const e = await event({ id: `${d}-r`, type: 'sensor.reading', time: '2026-11-25T10:00:00Z', deviceId: d, data: { temperature: 1 } }, await orgKey(0));
    await replicate([{ ...e, type: 'door.opened' }]);
    expect((await get<Out>(`/records/${d}-r`)).body.decryption).toMatchObject({ status: 'failed', error: 'relabelled: the JWE evt header does not match the record id, type and time' });
  });

  it('reports its status, with the last error, when the platform cannot be reached', async () => {
    type Status = { stream: string; caughtUp: boolean; lag: unknown; counts: { records: number; undecryptable: number }; lastError: { message: string; at: string } | null };
    // Every request wakes the Replicator, whose sync then fails against a port where nothing listens.
    let res = await get<Status>('/replication/status');
    for (let i = 0; i < 50 && !res.body.lastError; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await get<Status>('/replication/status');
    }
    const { status, body } = res;
    expect(status).toBe(200);
    expect(body).toMatchObject({ stream: 'closed', caughtUp: false, lag: null });
    expect(body.counts.records).toBeGreaterThan(0);
    expect(body.lastError?.message).toMatch(/^the platform at http:\/\/127\.0\.0\.1:9 could not be reached/);
    expect(Date.parse(body.lastError?.at ?? '')).toBeGreaterThan(Date.now() - 60_000);
  });

  it('answers 404 for a record it does not hold', async () => {
    expect((await get('/records/nope-never')).status).toBe(404);
  });
});
