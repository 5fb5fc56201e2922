import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLog, orgMembers } from '../schema/index.ts';
import { call, expectBearerError, expectProblem, json } from './gateway.test-fixture.ts';
import { addMember, apiUser, createOrg } from './orgs.test-fixture.ts';
import { db } from './support/auth-fixtures.ts';

type Org = { id: string; name: string; role: string; settings: Record<string, unknown> | null; keys?: { encryption: unknown[]; signing: unknown[] } };
const rolesOf = async (orgId: string) => Object.fromEntries((await db().select().from(orgMembers).where(eq(orgMembers.orgId, orgId))).map((m) => [m.userId, m.role]));
const auditOf = (orgId: string) => db().select().from(auditLog).where(eq(auditLog.target, orgId));

describe('/api/orgs: organisations', () => {
  it('creates an organisation owned by the caller, lists it with the role, and reads it with its (empty) keys', async () => {
    const alice = await apiUser();
    const res = await call('/api/orgs', alice.token, json('POST', { name: '  Acme  ', settings: { interval: 60 } }));
    expect(res.status).toBe(201);
    const org = (await res.json()) as Org;
    expect(org).toMatchObject({ name: 'Acme', role: 'owner', settings: { interval: 60 }, keys: { encryption: [], signing: [] } });
    const list = (await (await call('/api/orgs', alice.token)).json()) as { orgs: Org[]; next: string | null };
    expect(list.orgs.map((o) => [o.id, o.role])).toEqual([[org.id, 'owner']]);
    expect(((await (await call(`/api/orgs/${org.id}`, alice.token)).json()) as Org).keys).toEqual({ encryption: [], signing: [] });
    expect((await auditOf(org.id)).map((a) => [a.actor, a.action])).toEqual([[alice.user.id, 'org.create']]);
  });

  it('pages the list by organisation id', async () => {
    const bob = await apiUser();
    const ids = [(await createOrg(bob.token)).id, (await createOrg(bob.token)).id, (await createOrg(bob.token)).id].sort();
    const first = (await (await call('/api/orgs?limit=2', bob.token)).json()) as { orgs: Org[]; next: string };
    expect(first.orgs.map((o) => o.id)).toEqual(ids.slice(0, 2));
    const second = (await (await call(`/api/orgs?limit=2&after=${first.next}`, bob.token)).json()) as { orgs: Org[]; next: string | null };
    expect(second).toEqual({ orgs: [expect.objectContaining({ id: ids[2] })], next: null });
  });

  it('hides organisations from non-members (404), refuses bad input (400) and unauthenticated callers (401)', async () => {
    const owner = await apiUser();
    const stranger = await apiUser();
    const org = await createOrg(owner.token);
    await expectProblem(await call(`/api/orgs/${org.id}`, stranger.token), 404);
    await expectProblem(await call(`/api/orgs/${crypto.randomUUID()}`, owner.token), 404);
    expect((await expectProblem(await call('/api/orgs/not-a-uuid', owner.token), 400)).errors?.[0]?.path).toBe('orgId');
    expect((await expectProblem(await call('/api/orgs', owner.token, json('POST', { name: '' })), 400)).errors?.[0]?.path).toBe('name');
    expect((await expectProblem(await call('/api/orgs', owner.token, json('POST', { name: 'x', extra: 1 })), 400)).errors?.length).toBe(1);
    await expectBearerError(await call('/api/orgs', null), 401, 'invalid_token');
  });

  it('lets admins rename and change settings (audited), not members', async () => {
    const owner = await apiUser();
    const member = await apiUser();
    const org = await createOrg(owner.token);
    await addMember(owner.token, org.id, member.user.id, 'member');
    const patched = await call(`/api/orgs/${org.id}`, owner.token, json('PATCH', { name: 'Renamed', settings: { a: 1 } }));
    expect(((await patched.json()) as Org)).toMatchObject({ name: 'Renamed', settings: { a: 1 } });
    expect((await expectProblem(await call(`/api/orgs/${org.id}`, member.token, json('PATCH', { name: 'Mine' })), 403)).type).toBe('urn:gatehouse:problem:org-role');
    await expectProblem(await call(`/api/orgs/${org.id}`, owner.token, json('PATCH', {})), 400);
    expect((await auditOf(org.id)).map((a) => a.action)).toEqual(['org.create', 'org.grant', 'org.update']);
  });
});

describe('/api/orgs/:orgId/members: roles without escalation', () => {
  it('admins add members and admins but never owners; members add nobody; every change is audited', async () => {
    const [owner, admin, member, other] = await Promise.all([apiUser(), apiUser(), apiUser(), apiUser()]);
    const org = await createOrg(owner.token);
    const added = await call(`/api/orgs/${org.id}/members/${admin.user.id}`, owner.token, json('PUT', { role: 'admin' }));
    expect(added.status).toBe(201);
    expect(await added.json()).toMatchObject({ userId: admin.user.id, role: 'admin', grantedBy: owner.user.id });
    expect((await call(`/api/orgs/${org.id}/members/${member.user.id}`, admin.token, json('PUT', { role: 'member' }))).status).toBe(201);
    await expectProblem(await call(`/api/orgs/${org.id}/members/${other.user.id}`, member.token, json('PUT', { role: 'member' })), 403);
    await expectProblem(await call(`/api/orgs/${org.id}/members/${other.user.id}`, admin.token, json('PUT', { role: 'owner' })), 403);
    await expectProblem(await call(`/api/orgs/${org.id}/members/${owner.user.id}`, admin.token, json('PUT', { role: 'member' })), 409);
    await expectProblem(await call(`/api/orgs/${org.id}/members/no-such-user`, owner.token, json('PUT', { role: 'member' })), 404);
    expect(await rolesOf(org.id)).toEqual({ [owner.user.id]: 'owner', [admin.user.id]: 'admin', [member.user.id]: 'member' });
    const list = (await (await call(`/api/orgs/${org.id}/members`, member.token)).json()) as { members: { userId: string; role: string }[] };
    expect(list.members.map((m) => m.role)).toEqual(['owner', 'admin', 'member']);
    const grants = (await auditOf(org.id)).filter((a) => a.action === 'org.grant').map((a) => a.detail);
    expect(grants).toEqual([{ userId: admin.user.id, role: 'admin' }, { userId: member.user.id, role: 'member' }]);
  });

  it('transfers ownership (the old owner becomes admin), once', async () => {
    const [owner, next] = await Promise.all([apiUser(), apiUser()]);
    const org = await createOrg(owner.token);
    await addMember(owner.token, org.id, next.user.id, 'member');
    const res = await call(`/api/orgs/${org.id}/members/${next.user.id}`, owner.token, json('PUT', { role: 'owner' }));
    expect(res.status).toBe(200);
    expect(await rolesOf(org.id)).toEqual({ [owner.user.id]: 'admin', [next.user.id]: 'owner' });
    await expectProblem(await call(`/api/orgs/${org.id}/members/${owner.user.id}`, owner.token, json('PUT', { role: 'owner' })), 403);
    const transfer = await db().select().from(auditLog).where(and(eq(auditLog.target, org.id), eq(auditLog.action, 'org.transfer')));
    expect(transfer.map((t) => t.detail)).toEqual([{ from: owner.user.id, to: next.user.id }]);
  });

  it('removes members not above the caller; anyone but the owner may leave; the owner stays', async () => {
    const [owner, admin, member, member2] = await Promise.all([apiUser(), apiUser(), apiUser(), apiUser()]);
    const org = await createOrg(owner.token);
    await addMember(owner.token, org.id, admin.user.id, 'admin');
    await addMember(owner.token, org.id, member.user.id, 'member');
    await addMember(owner.token, org.id, member2.user.id, 'member');
    await expectProblem(await call(`/api/orgs/${org.id}/members/${member2.user.id}`, member.token, { method: 'DELETE' }), 403);
    await expectProblem(await call(`/api/orgs/${org.id}/members/${owner.user.id}`, admin.token, { method: 'DELETE' }), 409);
    expect((await call(`/api/orgs/${org.id}/members/${member2.user.id}`, admin.token, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`/api/orgs/${org.id}/members/${member.user.id}`, member.token, { method: 'DELETE' })).status).toBe(204);
    await expectProblem(await call(`/api/orgs/${org.id}/members/${member.user.id}`, admin.token, { method: 'DELETE' }), 404);
    await expectProblem(await call(`/api/orgs/${org.id}`, member.token), 404);
    expect(await rolesOf(org.id)).toEqual({ [owner.user.id]: 'owner', [admin.user.id]: 'admin' });
    expect((await auditOf(org.id)).filter((a) => a.action === 'org.remove_member').map((a) => [a.actor, a.detail])).toEqual([
      [admin.user.id, { userId: member2.user.id }],
      [member.user.id, { userId: member.user.id }],
    ]);
  });
});
