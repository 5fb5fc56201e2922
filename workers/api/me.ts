import { and, eq, isNull } from 'drizzle-orm';
import { Hono } from 'hono';
import type { z } from 'zod';
import { userIdentities, users } from '../../schema/index.ts';
import type { User } from '../auth/store/users.ts';
import { database, type Database } from '../db.ts';
import { validate } from '../validate.ts';
import { protectApi, type ApiEnv } from './current-user.ts';
import { profilePatch, type profileSchema } from './schemas.ts';

/** The caller's profile, as the API shows it. */
export type Profile = z.output<typeof profileSchema>;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

async function toProfile(db: Database, user: User): Promise<Profile> {
  const identity = user.status === 'EXTERNAL_PROVIDER' ? await db.query.userIdentities.findFirst({ where: eq(userIdentities.userId, user.id) }) : undefined;
  const a = user.attributes;
  return {
    id: user.id,
    email: user.email,
    emailVerified: user.emailVerified,
    displayName: user.displayName ?? '',
    locale: a.locale ?? null,
    zoneinfo: a.zoneinfo ?? null,
    picture: a.picture ?? null,
    federatedIssuer: identity?.provider ?? null,
    createdAt: new Date(user.createdAt).toISOString(),
    updatedAt: iso(user.updatedAt),
  };
}

/** A first-time user's display name: the `name` attribute, else the email's local part. */
const firstDisplayName = (user: User) => user.attributes.name?.trim() || user.email.split('@')[0] || user.username;

/**
 * `GET|PATCH /api/users/me`. The profile lives on the user row (`display_name` and the OIDC standard attributes
 * `name`, `locale`, `zoneinfo`, `picture`), so userinfo and ID tokens agree with it. A first-time caller's profile is
 * created on their first GET (a federated caller's user row was created by `currentUser()` already).
 */
export const me = new Hono<ApiEnv>()
  .use(protectApi())
  .get('/', async (c) => {
    const db = database(c.env.DB);
    let user = c.get('user');
    if (user.displayName === null) {
      // Only if still unset: two first calls at once both answer with the same name.
      const [created] = await db
        .update(users)
        .set({ displayName: firstDisplayName(user), updatedAt: Date.now() })
        .where(and(eq(users.id, user.id), isNull(users.displayName)))
        .returning();
      user = created ?? (await db.query.users.findFirst({ where: eq(users.id, user.id) })) ?? user;
    }
    c.header('Cache-Control', 'no-store');
    return c.json(await toProfile(db, user));
  })
  .patch('/', validate('json', profilePatch), async (c) => {
    const db = database(c.env.DB);
    const user = c.get('user');
    const patch = c.req.valid('json');
    const attributes = { ...user.attributes };
    if (patch.displayName !== undefined) attributes.name = patch.displayName;
    for (const key of ['locale', 'zoneinfo', 'picture'] as const) if (patch[key] !== undefined) attributes[key] = patch[key];
    const [updated] = await db
      .update(users)
      .set({ displayName: patch.displayName ?? user.displayName ?? firstDisplayName(user), attributes, updatedAt: Date.now() })
      .where(eq(users.id, user.id))
      .returning();
    c.header('Cache-Control', 'no-store');
    return c.json(await toProfile(db, updated ?? user));
  });
