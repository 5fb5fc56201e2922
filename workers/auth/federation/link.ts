import { and, eq } from 'drizzle-orm';
import { groups, userGroups, userIdentities, users } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';
import { findUserByUsername, type User } from '../store/users.ts';
import type { IdentityProvider } from './config.ts';
import { FederationError } from './errors.ts';
import type { UpstreamProfile } from './profile.ts';

/** The local user a federated sign-in resolved to, and how: an existing link, a new user, or a new link to a local account. */
export type FederatedUser = { user: User; outcome: 'returning' | 'created' | 'linked' };

/** Cognito's username for a user made by federation: `<provider>_<sub>`, lower-cased as in a case-insensitive pool. */
export const federatedUsername = (provider: string, subject: string): string => `${provider}_${subject}`.toLowerCase();

/** The group Cognito puts every user made by a provider in, `<USER_POOL_ID>_<provider>`; GROUP_ROLE_MAP may give it a Hasura role. */
export const providerGroup = (poolId: string, provider: string): string => `${poolId}_${provider}`;

const findLinked = async (db: Database, provider: string, subject: string): Promise<User | undefined> =>
  (
    await db
      .select({ user: users })
      .from(userIdentities)
      .innerJoin(users, eq(users.id, userIdentities.userId))
      .where(and(eq(userIdentities.provider, provider), eq(userIdentities.subject, subject)))
      .get()
  )?.user;

/** A user who may be signed in: enabled, and confirmed (local) or federated; anything else is refused in plain words. */
function admit(user: User, outcome: FederatedUser['outcome']): FederatedUser {
  if (!user.enabled) throw new FederationError('disabled', `user ${user.id} is disabled`);
  if (user.status !== 'CONFIRMED' && user.status !== 'EXTERNAL_PROVIDER') throw new FederationError('link_refused', `user ${user.id} is ${user.status}`);
  return { user, outcome };
}

/** A returning federated user: their mapped attributes follow the IdP on every sign-in, as Cognito's do. A linked local account keeps its own. */
async function refresh(db: Database, user: User, provider: string, profile: UpstreamProfile, now: number): Promise<User> {
  const linkEmail = db.update(userIdentities).set({ email: profile.email }).where(and(eq(userIdentities.provider, provider), eq(userIdentities.subject, profile.subject)));
  if (user.status !== 'EXTERNAL_PROVIDER') {
    await linkEmail;
    return user;
  }
  const attributes = { ...user.attributes, ...profile.attributes };
  const [, updated] = await db.batch([
    linkEmail,
    db.update(users).set({ email: profile.email, emailVerified: profile.emailVerified, attributes, updatedAt: now }).where(eq(users.id, user.id)).returning(),
  ]);
  return updated[0] ?? user;
}

/** Creates the `<provider>_<sub>` user with status EXTERNAL_PROVIDER, no password, its link and its provider group, in one batch. */
async function create(db: Database, provider: string, poolId: string, profile: UpstreamProfile, now: number): Promise<User> {
  const id = crypto.randomUUID();
  const group = providerGroup(poolId, provider);
  try {
    await db.batch([
      db.insert(users).values({
        id, username: federatedUsername(provider, profile.subject), email: profile.email, emailVerified: profile.emailVerified,
        status: 'EXTERNAL_PROVIDER', attributes: profile.attributes, createdAt: now, updatedAt: now,
      }).onConflictDoNothing(),
      db.insert(userIdentities).values({ id: crypto.randomUUID(), userId: id, provider, subject: profile.subject, email: profile.email, createdAt: now }).onConflictDoNothing(),
      db.insert(groups).values({ name: group, description: `Users who signed in with ${provider}` }).onConflictDoNothing(),
      db.insert(userGroups).values({ userId: id, groupName: group, createdAt: now }).onConflictDoNothing(),
    ]);
  } catch {
    // A parallel first sign-in won the username (our rows rolled back): its link, read below, is the answer.
  }
  const user = await findLinked(db, provider, profile.subject);
  if (!user) throw new FederationError('link_refused', `username ${federatedUsername(provider, profile.subject)} belongs to another user`);
  return user;
}

/**
 * Finds or makes the local user for a verified upstream profile. The linking rules (see README, "Federation"):
 * 1. an existing link (provider, sub) wins: that user signs in;
 * 2. otherwise, only under `verified_email` or `verified_email_required` and only when the IdP says `email_verified`,
 *    the upstream account is linked to the local account whose username is that email, if that account is enabled
 *    and CONFIRMED (an unconfirmed one could have been registered by someone else: linking would hand it over);
 * 3. otherwise a new user `<provider>_<sub>` is made, even when a local account has the same email.
 */
export async function resolveFederatedUser(db: Database, input: { provider: IdentityProvider; poolId: string; profile: UpstreamProfile; now?: number }): Promise<FederatedUser> {
  const { provider, profile } = input;
  const now = input.now ?? Date.now();
  const linked = await findLinked(db, provider.name, profile.subject);
  if (linked) return admit(await refresh(db, admit(linked, 'returning').user, provider.name, profile, now), 'returning');

  if (provider.linking !== 'never' && profile.emailVerified) {
    const local = await findUserByUsername(db, profile.email);
    if (local && local.status !== 'EXTERNAL_PROVIDER') {
      admit(local, 'linked');
      await db.insert(userIdentities).values({ id: crypto.randomUUID(), userId: local.id, provider: provider.name, subject: profile.subject, email: profile.email, createdAt: now }).onConflictDoNothing();
      const user = await findLinked(db, provider.name, profile.subject);
      if (!user) throw new Error('identity link vanished after insert');
      return admit(user, user.id === local.id ? 'linked' : 'returning');
    }
  }
  return admit(await create(db, provider.name, input.poolId, profile, now), 'created');
}
