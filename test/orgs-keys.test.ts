import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { auditLog } from '../schema/index.ts';
import { call, expectProblem, json } from './gateway.test-fixture.ts';
import { addMember, apiUser, createOrg, encryptionKeyPair, putKeys, signingKeyPair } from './orgs.test-fixture.ts';
import { db } from './support/auth-fixtures.ts';

type Keys = { encryption: { kid: string; status: string; jwk: Record<string, unknown>; retiredAt: string | null }[]; signing: { kid: string; status: string; jwk: Record<string, unknown> }[] };

async function ownedOrg() {
  const owner = await apiUser();
  return { owner, org: await createOrg(owner.token) };
}

describe('PUT /api/orgs/:orgId/keys', () => {
  it('registers a P-256 encryption key and an Ed25519 signing key, public members only, shown on the organisation', async () => {
    const { owner, org } = await ownedOrg();
    const enc = await encryptionKeyPair();
    const sig = await signingKeyPair('Ed25519');
    const keys = (await putKeys(owner.token, org.id, { encryptionKey: enc.jwk, signingKey: sig.jwk })) as Keys;
    expect(keys.encryption).toEqual([expect.objectContaining({ kid: enc.kid, status: 'active', retiredAt: null, jwk: { kty: 'EC', crv: 'P-256', x: enc.jwk.x, y: enc.jwk.y, kid: enc.kid, use: 'enc', alg: 'ECDH-ES+A256KW' } })]);
    expect(keys.signing).toEqual([expect.objectContaining({ kid: sig.kid, status: 'active', jwk: { kty: 'OKP', crv: 'Ed25519', x: sig.jwk.x, kid: sig.kid, use: 'sig', alg: 'EdDSA' } })]);
    const org2 = (await (await call(`/api/orgs/${org.id}`, owner.token)).json()) as { keys: Keys };
    expect(org2.keys).toEqual(keys);
    const audit = await db().select().from(auditLog).where(eq(auditLog.target, org.id));
    expect(audit.filter((a) => a.action === 'org.key_register').map((a) => a.detail)).toEqual([
      { kid: enc.kid, use: 'enc', kty: 'EC', crv: 'P-256' },
      { kid: sig.kid, use: 'sig', kty: 'OKP', crv: 'Ed25519' },
    ]);
  });

  it('rotates: the new key is active, the old one retired and kept; re-registering is a no-op; a kid is never reused', async () => {
    const { owner, org } = await ownedOrg();
    const first = await encryptionKeyPair('enc-2026-01');
    const second = await encryptionKeyPair('enc-2026-02');
    await putKeys(owner.token, org.id, { encryptionKey: first.jwk });
    await putKeys(owner.token, org.id, { encryptionKey: second.jwk });
    let keys = (await putKeys(owner.token, org.id, { encryptionKey: second.jwk })) as Keys;
    expect(keys.encryption.map((k) => [k.kid, k.status])).toEqual([['enc-2026-02', 'active'], ['enc-2026-01', 'retired']]);
    expect(keys.encryption[1]?.retiredAt).toMatch(/^\d{4}-/);
    keys = (await putKeys(owner.token, org.id, { encryptionKey: first.jwk })) as Keys;
    expect(Object.fromEntries(keys.encryption.map((k) => [k.kid, k.status]))).toEqual({ 'enc-2026-01': 'active', 'enc-2026-02': 'retired' });
    const reuse = await encryptionKeyPair('enc-2026-01');
    expect((await expectProblem(await call(`/api/orgs/${org.id}/keys`, owner.token, json('PUT', { encryptionKey: reuse.jwk })), 409)).detail).toContain('never reused');
    const crossUse = await signingKeyPair('P-256', 'enc-2026-02');
    await expectProblem(await call(`/api/orgs/${org.id}/keys`, owner.token, json('PUT', { signingKey: crossUse.jwk })), 409);
    const actions = (await db().select().from(auditLog).where(eq(auditLog.target, org.id))).map((a) => a.action);
    expect(actions).toEqual(['org.create', 'org.key_register', 'org.key_register', 'org.key_reactivate']);
  });

  it('refuses private keys, unsupported key types and curves, missing kids and wrong uses with a clear 400', async () => {
    const { owner, org } = await ownedOrg();
    const enc = await encryptionKeyPair();
    const sig = await signingKeyPair('Ed25519');
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ encryptionKey: { ...enc.jwk, d: 'AAAA' } }, 'encryptionKey.d', /private key member.*PUBLIC key/],
      [{ signingKey: { ...sig.jwk, d: 'AAAA' } }, 'signingKey.d', /private/],
      [{ encryptionKey: { ...enc.jwk, kid: undefined } }, 'encryptionKey.kid', /required/],
      [{ encryptionKey: { ...enc.jwk, crv: 'P-384' } }, 'encryptionKey.crv', /unsupported key EC P-384: use EC P-256/],
      [{ encryptionKey: sig.jwk }, 'encryptionKey.use', /must be "enc"/],
      [{ encryptionKey: { ...sig.jwk, use: 'enc' } }, 'encryptionKey.crv', /unsupported key OKP Ed25519/],
      [{ signingKey: { kty: 'RSA', kid: 'r1', n: 'x', e: 'AQAB' } }, 'signingKey.kty', /unsupported key RSA/],
      [{ signingKey: { kty: 'oct', kid: 'h1', k: 'c2VjcmV0' } }, 'signingKey.k', /private/],
      [{ signingKey: { ...sig.jwk, alg: 'ES256' } }, 'signingKey.alg', /EdDSA or Ed25519/],
      [{}, 'json', /encryptionKey, signingKey or both/],
    ];
    for (const [body, path, message] of cases) {
      const problem = await expectProblem(await call(`/api/orgs/${org.id}/keys`, owner.token, json('PUT', body)), 400);
      expect(problem.errors, JSON.stringify(body).slice(0, 80)).toContainEqual({ path, message: expect.stringMatching(message) });
    }
    const offCurve = { ...enc.jwk, y: enc.jwk.x };
    const problem = await expectProblem(await call(`/api/orgs/${org.id}/keys`, owner.token, json('PUT', { encryptionKey: offCurve })), 400);
    expect(problem.errors).toEqual([{ path: 'encryptionKey.x', message: expect.stringContaining('not on the curve') }]);
    expect(((await (await call(`/api/orgs/${org.id}`, owner.token)).json()) as { keys: Keys }).keys).toEqual({ encryption: [], signing: [] });
  });

  it('is for admins and the owner only', async () => {
    const { owner, org } = await ownedOrg();
    const member = await apiUser();
    await addMember(owner.token, org.id, member.user.id, 'member');
    const enc = await encryptionKeyPair();
    await expectProblem(await call(`/api/orgs/${org.id}/keys`, member.token, json('PUT', { encryptionKey: enc.jwk })), 403);
    await expectProblem(await call(`/api/orgs/${org.id}/keys`, (await apiUser()).token, json('PUT', { encryptionKey: enc.jwk })), 404);
  });
});
