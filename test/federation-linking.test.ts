import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { userGroups, userIdentities, users } from '../schema/index.ts';
import { parseIdentityProviders, type LinkingPolicy } from '../workers/auth/federation/config.ts';
import { FederationError } from '../workers/auth/federation/errors.ts';
import { resolveFederatedUser } from '../workers/auth/federation/link.ts';
import type { UpstreamProfile } from '../workers/auth/federation/profile.ts';
import { db, seedUser, uniqueEmail, userRow } from './auth-hosted-helpers.ts';

const POOL = 'local-1_gatehouse';

/** A provider with a unique name per test, so links never collide between tests sharing one D1. */
const providerWith = (linking: LinkingPolicy) => {
  const name = `Idp${crypto.randomUUID().slice(0, 8)}`;
  const [p] = parseIdentityProviders(JSON.stringify([{ name, issuer: 'https://idp.example', clientId: 'c', linking }]), JSON.stringify({ [name]: 's' }));
  return p!;
};
const profile = (email: string, extra: Partial<UpstreamProfile> = {}): UpstreamProfile => ({
  subject: `Sub-${crypto.randomUUID()}`,
  email,
  emailVerified: true,
  attributes: { name: 'Ada Lovelace' },
  ...extra,
});
const resolve = (provider: ReturnType<typeof providerWith>, p: UpstreamProfile) => resolveFederatedUser(db(), { provider, poolId: POOL, profile: p });
const refusal = async (run: Promise<unknown>) => {
  try {
    await run;
    return 'resolved';
  } catch (err) {
    if (err instanceof FederationError) return err.kind;
    throw err;
  }
};
const linksOf = (userId: string) => db().select().from(userIdentities).where(eq(userIdentities.userId, userId));

describe('a new upstream account', () => {
  it("becomes an EXTERNAL_PROVIDER user named <provider>_<sub> (lower-cased), linked and in the provider's group", async () => {
    const provider = providerWith('never');
    const p = profile(uniqueEmail('fed'));
    const { user, outcome } = await resolve(provider, p);
    expect(outcome).toBe('created');
    expect(user).toMatchObject({ username: `${provider.name}_${p.subject}`.toLowerCase(), email: p.email, emailVerified: true, status: 'EXTERNAL_PROVIDER', passwordHash: null, enabled: true });
    expect(user.attributes).toEqual({ name: 'Ada Lovelace' });
    expect(await linksOf(user.id)).toMatchObject([{ provider: provider.name, subject: p.subject, email: p.email }]);
    const groups = await db().select().from(userGroups).where(eq(userGroups.userId, user.id));
    expect(groups.map((g) => g.groupName)).toEqual([`${POOL}_${provider.name}`]);
  });

  it('signs in as the same user next time, with its attributes following the IdP', async () => {
    const provider = providerWith('never');
    const p = profile(uniqueEmail('fed'));
    const first = await resolve(provider, p);
    const newEmail = uniqueEmail('moved');
    const again = await resolve(provider, { ...p, email: newEmail, emailVerified: false, attributes: { name: 'Ada King' } });
    expect(again.outcome).toBe('returning');
    expect(again.user.id).toBe(first.user.id);
    expect(again.user).toMatchObject({ email: newEmail, emailVerified: false, attributes: { name: 'Ada King' } });
    expect((await db().select().from(users).where(eq(users.username, first.user.username))).length).toBe(1);
  });

  it('is refused when its linked user is disabled', async () => {
    const provider = providerWith('never');
    const p = profile(uniqueEmail('fed'));
    const { user } = await resolve(provider, p);
    await db().update(users).set({ enabled: false }).where(eq(users.id, user.id));
    expect(await refusal(resolve(provider, p))).toBe('disabled');
  });
});

describe('an upstream account whose email matches a local account', () => {
  it('never links under policy never, even when verified: it gets its own user', async () => {
    const local = await seedUser();
    const { user, outcome } = await resolve(providerWith('never'), profile(local.email));
    expect(outcome).toBe('created');
    expect(user.id).not.toBe(local.id);
    expect(await linksOf(local.id)).toEqual([]);
  });

  it('links to the confirmed local account under verified_email when the IdP verified the email', async () => {
    const local = await seedUser();
    const provider = providerWith('verified_email');
    const p = profile(local.email.toUpperCase());
    const { user, outcome } = await resolve(provider, { ...p, email: local.email });
    expect(outcome).toBe('linked');
    expect(user.id).toBe(local.id);
    expect(user.status).toBe('CONFIRMED');
    expect(await linksOf(local.id)).toMatchObject([{ provider: provider.name, subject: p.subject }]);
    // The local account keeps its own attributes and password.
    expect((await userRow(local.id))?.passwordHash).toBe(local.passwordHash);
    expect((await resolve(provider, { ...p, email: local.email })).outcome).toBe('returning');
  });

  it('does not link under verified_email when the email is not verified: a separate user', async () => {
    const local = await seedUser();
    const { user, outcome } = await resolve(providerWith('verified_email'), profile(local.email, { emailVerified: false }));
    expect(outcome).toBe('created');
    expect(user.id).not.toBe(local.id);
    expect(await linksOf(local.id)).toEqual([]);
  });

  it('refuses to link to an account that is not confirmed (it could be a squatter) or is disabled', async () => {
    const unconfirmed = await seedUser({ status: 'UNCONFIRMED', emailVerified: false });
    expect(await refusal(resolve(providerWith('verified_email'), profile(unconfirmed.email)))).toBe('link_refused');
    const disabled = await seedUser();
    await db().update(users).set({ enabled: false }).where(eq(users.id, disabled.id));
    expect(await refusal(resolve(providerWith('verified_email_required'), profile(disabled.email)))).toBe('disabled');
    expect(await linksOf(unconfirmed.id)).toEqual([]);
  });

  it('is never matched against another federated user with the same email', async () => {
    const email = uniqueEmail('twice');
    const first = await resolve(providerWith('verified_email'), profile(email));
    const second = await resolve(providerWith('verified_email'), profile(email));
    expect(second.outcome).toBe('created');
    expect(second.user.id).not.toBe(first.user.id);
  });
});

describe('concurrency', () => {
  it('two first sign-ins at once end as one user', async () => {
    const provider = providerWith('never');
    const p = profile(uniqueEmail('race'));
    const [a, b] = await Promise.all([resolve(provider, p), resolve(provider, p)]);
    expect(a.user.id).toBe(b.user.id);
    const rows = await db().select().from(userIdentities).where(and(eq(userIdentities.provider, provider.name), eq(userIdentities.subject, p.subject)));
    expect(rows.length).toBe(1);
  });
});
