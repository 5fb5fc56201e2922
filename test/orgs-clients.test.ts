import { exports } from 'cloudflare:workers';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../lib/encoding.ts';
import { streamServerFrame } from '../lib/records/view.ts';
import { appClients, auditLog, orgClients } from '../schema/index.ts';
import { registerClient } from '../workers/auth/store/client-admin.ts';
import { BASE, call, expectBearerError, expectProblem, json } from './gateway.test-fixture.ts';
import { addMember, apiUser, createOrg, putKeys, signingKeyPair } from './orgs.test-fixture.ts';
import { db } from './support/auth-fixtures.ts';

type Created = { clientId: string; clientSecret: string; name: string; role: string; createdBy: string; createdAt: string; tokenEndpoint: string };

/** Creates a bound client through the API as `token`'s user. */
async function createClient(token: string, orgId: string, body: Record<string, unknown> = { name: 'connector' }): Promise<Created> {
  const res = await call(`/api/orgs/${orgId}/clients`, token, json('POST', body));
  expect(res.status, await res.clone().text()).toBe(201);
  expect(res.headers.get('cache-control')).toBe('no-store');
  return res.json();
}

/** A client_credentials access token from the real token endpoint (client_secret_basic). */
async function clientToken(clientId: string, secret: string): Promise<string> {
  const res = await exports.default.fetch(`${BASE}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${btoa(`${clientId}:${secret}`)}` },
    body: 'grant_type=client_credentials',
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function orgWithClient(role?: 'admin' | 'member') {
  const owner = await apiUser();
  const org = await createOrg(owner.token);
  const created = await createClient(owner.token, org.id, role ? { name: 'connector', role } : { name: 'connector' });
  return { owner, org, created, token: await clientToken(created.clientId, created.clientSecret) };
}

async function appendAs(token: string, orgId: string, key: Awaited<ReturnType<typeof signingKeyPair>>, id: string) {
  const record = { id, orgId, type: 'note', time: '2026-11-25T08:00:00Z', payload: { id } };
  return call(`/api/orgs/${orgId}/records`, token, json('POST', { id, type: record.type, time: record.time, payload: record.payload, signature: await key.sign(record) }));
}

describe('POST/GET/DELETE /api/orgs/:orgId/clients', () => {
  it('creates a confidential client_credentials-only client bound as member by default; the secret is shown once and stored hashed; audited', async () => {
    const owner = await apiUser();
    const org = await createOrg(owner.token);
    const created = await createClient(owner.token, org.id);
    expect(created).toMatchObject({ name: 'connector', role: 'member', createdBy: owner.user.id, tokenEndpoint: expect.stringMatching(/\/oauth2\/token$/) });
    expect(created.clientSecret.length).toBeGreaterThanOrEqual(32);
    const [row] = await db().select().from(appClients).where(eq(appClients.id, created.clientId));
    expect(row?.secretHash).toBe(await sha256Hex(created.clientSecret));
    expect(row?.grantTypes).toEqual(['client_credentials']);
    expect(row?.redirectUris).toEqual([]);
    expect(await db().select().from(orgClients).where(eq(orgClients.clientId, created.clientId))).toEqual([expect.objectContaining({ orgId: org.id, role: 'member', createdBy: owner.user.id })]);

    const list = await call(`/api/orgs/${org.id}/clients`, owner.token);
    expect(list.status).toBe(200);
    const body = (await list.json()) as { clients: Record<string, unknown>[] };
    expect(body.clients).toEqual([{ clientId: created.clientId, name: 'connector', role: 'member', createdBy: owner.user.id, createdAt: created.createdAt }]);
    expect(JSON.stringify(body)).not.toContain(created.clientSecret);

    const audit = await db().select().from(auditLog).where(eq(auditLog.target, org.id));
    expect(audit.filter((a) => a.action === 'org.client_create').map((a) => [a.actor, a.detail])).toEqual([[owner.user.id, { clientId: created.clientId, name: 'connector', role: 'member' }]]);
    expect((await db().select().from(auditLog).where(eq(auditLog.target, created.clientId))).map((a) => a.action)).toEqual(['client.create']);
    expect(JSON.stringify(audit)).not.toContain(created.clientSecret);
  });

  it('is for admins and the owner: members get 403, outsiders 404; role owner and unknown fields are refused with 400', async () => {
    const owner = await apiUser();
    const admin = await apiUser();
    const member = await apiUser();
    const outsider = await apiUser();
    const org = await createOrg(owner.token);
    await addMember(owner.token, org.id, admin.user.id, 'admin');
    await addMember(owner.token, org.id, member.user.id, 'member');
    expect((await createClient(admin.token, org.id, { name: 'by admin', role: 'admin' })).role).toBe('admin');
    await expectProblem(await call(`/api/orgs/${org.id}/clients`, member.token, json('POST', { name: 'x' })), 403);
    await expectProblem(await call(`/api/orgs/${org.id}/clients`, member.token), 403);
    await expectProblem(await call(`/api/orgs/${org.id}/clients`, outsider.token, json('POST', { name: 'x' })), 404);
    await expectProblem(await call(`/api/orgs/${org.id}/clients`, outsider.token), 404);
    const owned = await expectProblem(await call(`/api/orgs/${org.id}/clients`, owner.token, json('POST', { name: 'x', role: 'owner' })), 400);
    expect(owned.errors?.[0]?.path).toBe('role');
    await expectProblem(await call(`/api/orgs/${org.id}/clients`, owner.token, json('POST', { name: 'x', grantTypes: ['authorization_code'] })), 400);
    await expectProblem(await call(`/api/orgs/${org.id}/clients`, owner.token, json('POST', { name: '  ' })), 400);
    expect((await db().select().from(orgClients).where(eq(orgClients.orgId, org.id))).length).toBe(1);
  });
});

describe('a bound client’s client_credentials token on /api/orgs', () => {
  it('as member: reads its organisation, the log and the keys, appends signed records; may not change the organisation or keys', async () => {
    const { owner, org, token } = await orgWithClient();
    const key = await signingKeyPair();
    await putKeys(owner.token, org.id, { signingKey: key.jwk });
    const read = await call(`/api/orgs/${org.id}`, token);
    expect(read.status).toBe(200);
    const orgBody = (await read.json()) as { id: string; role: string; keys: { signing: { kid: string }[] } };
    expect([orgBody.id, orgBody.role, orgBody.keys.signing.map((k) => k.kid)]).toEqual([org.id, 'member', [key.kid]]);

    const appended = await appendAs(token, org.id, key, 'by-client-1');
    expect(appended.status, await appended.clone().text()).toBe(201);
    expect(((await appended.json()) as { record: { id: string; userId: string | null } }).record).toMatchObject({ id: 'by-client-1', userId: null });
    const page = await call(`/api/orgs/${org.id}/records`, token);
    expect(page.status).toBe(200);
    expect(((await page.json()) as { records: { id: string }[] }).records.map((r) => r.id)).toEqual(['by-client-1']);
    expect((await call(`/api/orgs/${org.id}/members`, token)).status).toBe(200);

    expect((await expectProblem(await call(`/api/orgs/${org.id}`, token, json('PATCH', { name: 'renamed' })), 403)).detail).toContain('your role is member');
    await expectProblem(await call(`/api/orgs/${org.id}/keys`, token, json('PUT', { signingKey: (await signingKeyPair()).jwk })), 403);
  });

  it('as admin: changes the organisation and registers keys, audited as client:<id>', async () => {
    const { org, created, token } = await orgWithClient('admin');
    const res = await call(`/api/orgs/${org.id}`, token, json('PATCH', { name: 'renamed by connector' }));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { name: string; role: string })).toMatchObject({ name: 'renamed by connector', role: 'admin' });
    const key = await signingKeyPair();
    expect((await putKeys(token, org.id, { signingKey: key.jwk })).signing.map((k) => k.kid)).toEqual([key.kid]);
    const audit = await db().select().from(auditLog).where(eq(auditLog.target, org.id));
    expect(audit.filter((a) => a.action === 'org.update' || a.action === 'org.key_register').map((a) => a.actor)).toEqual([`client:${created.clientId}`, `client:${created.clientId}`]);
  });

  it('is refused like an outsider in any other organisation, and on every user-only route', async () => {
    const { owner, org, token } = await orgWithClient('admin');
    const other = await createOrg(owner.token);
    await expectProblem(await call(`/api/orgs/${other.id}`, token), 404);
    await expectProblem(await call(`/api/orgs/${other.id}/records`, token), 404);
    await expectProblem(await call(`/api/orgs/${other.id}`, token, json('PATCH', { name: 'x' })), 404);
    await expectBearerError(await call('/api/orgs', token), 403, 'insufficient_scope');
    await expectBearerError(await call('/api/orgs', token, json('POST', { name: 'by client' })), 403, 'insufficient_scope');
    await expectBearerError(await call(`/api/orgs/${org.id}/members/${owner.user.id}`, token, json('PUT', { role: 'admin' })), 403, 'insufficient_scope');
    await expectBearerError(await call(`/api/orgs/${org.id}/members/${owner.user.id}`, token, { method: 'DELETE' }), 403, 'insufficient_scope');
    await expectBearerError(await call(`/api/orgs/${org.id}/clients`, token, json('POST', { name: 'child' })), 403, 'insufficient_scope');
    await expectBearerError(await call(`/api/orgs/${org.id}/clients`, token), 403, 'insufficient_scope');
    await expectBearerError(await call('/api/users/me', token), 403, 'insufficient_scope');
    await expectBearerError(await call('/api/admin/users', token), 403, 'insufficient_scope');
    await expectBearerError(await call('/api/devices', token), 403, 'insufficient_scope');
  });

  it('of a client bound to no organisation is refused everywhere (404)', async () => {
    const owner = await apiUser();
    const org = await createOrg(owner.token);
    const { client, secret } = await registerClient(db(), { name: 'unbound', confidential: true, grantTypes: ['client_credentials'], allowedScopes: ['orgs'] }, { actor: 'test' });
    const token = await clientToken(client.id, secret ?? '');
    await expectProblem(await call(`/api/orgs/${org.id}`, token), 404);
    await expectProblem(await call(`/api/orgs/${org.id}/records`, token), 404);
  });

  it('streams the log; revoking the client closes the stream (4403), refuses its token, deletes it and is audited', async () => {
    const { owner, org, created, token } = await orgWithClient();
    const key = await signingKeyPair();
    await putKeys(owner.token, org.id, { signingKey: key.jwk });
    expect((await appendAs(owner.token, org.id, key, 'first')).status).toBe(201);
    const res = await exports.default.fetch(`${BASE}/api/orgs/${org.id}/records/stream`, { headers: { Upgrade: 'websocket', Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    const frames: string[] = [];
    const closed = new Promise<number>((resolve) => ws.addEventListener('close', (e) => resolve(e.code)));
    ws.addEventListener('message', (e) => {
      const f = streamServerFrame.parse(JSON.parse(String(e.data)));
      frames.push(f.type === 'record' ? f.record.id : f.type);
    });
    for (let i = 0; i < 200 && frames.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(frames).toEqual(['first', 'caught_up']);

    const del = await call(`/api/orgs/${org.id}/clients/${created.clientId}`, owner.token, { method: 'DELETE' });
    expect(del.status).toBe(204);
    expect(await closed).toBe(4403);
    await expectProblem(await call(`/api/orgs/${org.id}`, token), 404);
    await expectProblem(await call(`/api/orgs/${org.id}/records`, token), 404);
    expect((await appendAs(token, org.id, key, 'after-revoke')).status).toBe(404);
    expect(await db().select().from(appClients).where(eq(appClients.id, created.clientId))).toEqual([]);
    expect(await db().select().from(orgClients).where(eq(orgClients.clientId, created.clientId))).toEqual([]);
    const audit = await db().select().from(auditLog).where(eq(auditLog.target, org.id));
    expect(audit.filter((a) => a.action === 'org.client_delete').map((a) => [a.actor, a.detail])).toEqual([[owner.user.id, { clientId: created.clientId }]]);
    expect(((await (await call(`/api/orgs/${org.id}/clients`, owner.token)).json()) as { clients: unknown[] }).clients).toEqual([]);
    await expectProblem(await call(`/api/orgs/${org.id}/clients/${created.clientId}`, owner.token, { method: 'DELETE' }), 404);
  });

  it('revoking is for admins of the client’s own organisation: members 403, another organisation’s admin 404', async () => {
    const { owner, org, created, token } = await orgWithClient();
    const member = await apiUser();
    await addMember(owner.token, org.id, member.user.id, 'member');
    const otherOwner = await apiUser();
    const other = await createOrg(otherOwner.token);
    await expectProblem(await call(`/api/orgs/${org.id}/clients/${created.clientId}`, member.token, { method: 'DELETE' }), 403);
    await expectProblem(await call(`/api/orgs/${other.id}/clients/${created.clientId}`, otherOwner.token, { method: 'DELETE' }), 404);
    await expectProblem(await call(`/api/orgs/${org.id}/clients/${created.clientId}`, otherOwner.token, { method: 'DELETE' }), 404);
    expect((await call(`/api/orgs/${org.id}`, token)).status).toBe(200);
  });
});
