import { describe, expect, it } from 'vitest';
import type { RecordView } from '../lib/records/view.ts';
import { call, expectProblem, json } from './gateway.test-fixture.ts';
import { addMember, apiUser, createOrg, putKeys, signingKeyPair } from './orgs.test-fixture.ts';

type Page = { records: RecordView[]; cursor: string; hasMore: boolean };

async function signingOrg(kind: 'Ed25519' | 'P-256' = 'Ed25519') {
  const owner = await apiUser();
  const org = await createOrg(owner.token);
  const key = await signingKeyPair(kind);
  await putKeys(owner.token, org.id, { signingKey: key.jwk });
  /** Signs and appends one record; returns the response. */
  const append = async (fields: { id?: string; type?: string; time?: string; payload?: unknown } = {}, token = owner.token) => {
    const record = { id: fields.id ?? crypto.randomUUID(), orgId: org.id, type: fields.type ?? 'audit.note', time: fields.time ?? '2026-11-25T08:00:00+01:00', payload: (fields.payload ?? { n: 1 }) as never };
    const { orgId: _, ...body } = record;
    return call(`/api/orgs/${org.id}/records`, token, json('POST', { ...body, signature: await key.sign(record) }));
  };
  return { owner, org, key, append };
}

const page = async (orgId: string, token: string, query = '') => (await (await call(`/api/orgs/${orgId}/records${query}`, token)).json()) as Page;

describe('POST /api/orgs/:orgId/records: signed records', () => {
  for (const kind of ['Ed25519', 'P-256'] as const) {
    it(`verifies a ${kind} signature over the canonical record, stores it and returns it on read`, async () => {
      const { owner, org, key, append } = await signingOrg(kind);
      const res = await append({ id: 'r-1', payload: { b: [1, 2.5, 'x'], a: null } });
      expect(res.status).toBe(201);
      const { status, record } = (await res.json()) as { status: string; record: RecordView };
      expect(status).toBe('stored');
      expect(record).toMatchObject({ id: 'r-1', kind: 'record', orgId: org.id, userId: owner.user.id, deviceId: null, type: 'audit.note', time: '2026-11-25T08:00:00+01:00', payloadFormat: 'json', payload: { a: null, b: [1, 2.5, 'x'] }, sigKid: key.kid, encKid: null });
      expect(record.signature).toMatch(/^[\w-]+\.\.[\w-]+$/);
      expect((await page(org.id, owner.token)).records).toEqual([record]);
    });
  }

  it('is idempotent by id: the same record again is a 200 duplicate, a different one with that id a 409', async () => {
    const { org, key, append, owner } = await signingOrg();
    const record = { id: 'same', orgId: org.id, type: 't', time: '2026-11-25T08:00:00Z', payload: { v: 1 } };
    const signature = await key.sign(record);
    const body = { id: 'same', type: 't', time: record.time, payload: record.payload, signature };
    expect((await call(`/api/orgs/${org.id}/records`, owner.token, json('POST', body))).status).toBe(201);
    const again = await call(`/api/orgs/${org.id}/records`, owner.token, json('POST', body));
    expect(again.status).toBe(200);
    expect(((await again.json()) as { status: string }).status).toBe('duplicate');
    await expectProblem(await append({ id: 'same', payload: { v: 2 } }), 409);
    expect((await page(org.id, owner.token)).records).toHaveLength(1);
  });

  it('refuses a tampered record, an unknown or retired kid, a foreign organisation and a malformed signature', async () => {
    const { owner, org, key, append } = await signingOrg();
    const record = { id: 'x-1', orgId: org.id, type: 't', time: '2026-11-25T08:00:00Z', payload: { amount: 10 } };
    const signature = await key.sign(record);
    const post = (body: Record<string, unknown>) => call(`/api/orgs/${org.id}/records`, owner.token, json('POST', { id: 'x-1', type: 't', time: record.time, payload: record.payload, signature, ...body }));
    expect((await expectProblem(await post({ payload: { amount: 1000 } }), 422)).errors).toEqual([{ path: 'signature', message: 'bad_signature' }]);
    await expectProblem(await post({ time: '2026-11-25T09:00:00+01:00' }), 422);
    const stranger = await signingKeyPair('Ed25519', 'not-registered');
    expect((await expectProblem(await post({ signature: await stranger.sign(record) }), 422)).errors?.[0]?.message).toBe('unknown_kid');
    const other = await signingOrg();
    const elsewhere = await call(`/api/orgs/${other.org.id}/records`, other.owner.token, json('POST', { id: 'x-1', type: 't', time: record.time, payload: record.payload, signature }));
    expect((await expectProblem(elsewhere, 422)).errors?.[0]?.message).toBe('unknown_kid');
    expect((await expectProblem(await post({ signature: 'abc.def.ghi' }), 400)).errors?.[0]?.message).toBe('malformed');
    const untyped = `${btoa(JSON.stringify({ alg: 'EdDSA', kid: key.kid })).replace(/=+$/, '')}..${signature.split('..')[1]}`;
    expect((await expectProblem(await post({ signature: untyped }), 400)).detail).toContain('typ');
    const next = await signingKeyPair('Ed25519');
    await putKeys(owner.token, org.id, { signingKey: next.jwk });
    expect((await expectProblem(await append(), 422)).errors?.[0]?.message).toBe('retired_kid');
    expect((await page(org.id, owner.token)).records).toEqual([]);
  });

  it('needs membership (404) and a valid body (400); members may append', async () => {
    const { owner, org, append } = await signingOrg();
    const member = await apiUser();
    await expectProblem(await append({}, member.token), 404);
    await addMember(owner.token, org.id, member.user.id, 'member');
    expect((await append({}, member.token)).status).toBe(201);
    expect((await expectProblem(await append({ type: 'has space' }), 400)).errors?.[0]?.path).toBe('type');
    expect((await expectProblem(await append({ time: 'yesterday' }), 400)).errors?.[0]?.path).toBe('time');
    await expectProblem(await append({ payload: { big: 'x'.repeat(100 * 1024) } }), 413);
  });
});

describe('GET /api/orgs/:orgId/records: cursor paging', () => {
  it('pages oldest first; records appended while paging are neither skipped nor repeated', async () => {
    const { owner, org, append } = await signingOrg();
    for (let i = 0; i < 5; i++) expect((await append({ id: `r${i}` })).status).toBe(201);
    const seen: string[] = [];
    let cursor: string | undefined;
    let appended = 5;
    for (let round = 0; round < 20; round++) {
      const p = await page(org.id, owner.token, `?limit=2${cursor ? `&after=${cursor}` : ''}`);
      seen.push(...p.records.map((r) => r.id));
      cursor = p.cursor;
      if (appended < 9) expect((await append({ id: `r${appended++}` })).status).toBe(201);
      else if (!p.hasMore) break;
    }
    expect(seen).toEqual(Array.from({ length: 9 }, (_, i) => `r${i}`));
    const end = await page(org.id, owner.token, `?after=${cursor}`);
    expect(end).toEqual({ records: [], cursor, hasMore: false });
  });

  it('refuses altered cursors and cursors of another organisation (400), and non-members (404)', async () => {
    const a = await signingOrg();
    const b = await signingOrg();
    await a.append();
    const { cursor } = await page(a.org.id, a.owner.token);
    const [seq, tag] = cursor.split('.');
    const altered = `${(Number.parseInt(seq ?? '0', 36) + 1).toString(36)}.${tag}`;
    expect((await expectProblem(await call(`/api/orgs/${a.org.id}/records?after=${altered}`, a.owner.token), 400)).type).toBe('urn:gatehouse:problem:invalid-cursor');
    await expectProblem(await call(`/api/orgs/${b.org.id}/records?after=${cursor}`, b.owner.token), 400);
    await expectProblem(await call(`/api/orgs/${a.org.id}/records`, b.owner.token), 404);
    await expectProblem(await call(`/api/orgs/${a.org.id}/records?limit=0`, a.owner.token), 400);
  });
});
