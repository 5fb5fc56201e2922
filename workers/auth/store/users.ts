import { eq } from 'drizzle-orm';
import type { MultiFernet } from '../../../lib/fernet.ts';
import { hashPassword } from '../../../lib/password.ts';
import { groups, userClaims, userGroups, users, type USER_STATUSES } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';

/** A user row. */
export type User = typeof users.$inferSelect;

/** What it takes to create a user. `claims` are the Hasura claims, stored Fernet-encrypted. */
export type NewUser = {
  id?: string;
  email: string;
  password?: string;
  status?: (typeof USER_STATUSES)[number];
  emailVerified?: boolean;
  attributes?: Record<string, string>;
  groups?: string[];
  claims?: Record<string, unknown>;
};

/** Usernames are lower-cased emails, as the Moped pool used them. */
export const normaliseUsername = (email: string): string => email.trim().toLowerCase();

/** Creates a user with password hash, groups and encrypted claims in one D1 batch (all or nothing). */
export async function createUser(db: Database, fernet: MultiFernet, input: NewUser): Promise<User> {
  const id = input.id ?? crypto.randomUUID();
  const username = normaliseUsername(input.email);
  const now = Date.now();
  const passwordHash = input.password === undefined ? null : await hashPassword(input.password);
  const claimsCiphertext = input.claims ? await fernet.encrypt(JSON.stringify(input.claims)) : null;
  const insertUser = db
    .insert(users)
    .values({
      id,
      username,
      email: username,
      emailVerified: input.emailVerified ?? false,
      passwordHash,
      status: input.status ?? 'UNCONFIRMED',
      attributes: input.attributes ?? {},
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  const groupNames = [...new Set(input.groups ?? [])];
  const [inserted] = await db.batch([
    insertUser,
    ...groupNames.map((name) => db.insert(groups).values({ name }).onConflictDoNothing()),
    ...groupNames.map((groupName) => db.insert(userGroups).values({ userId: id, groupName })),
    ...(claimsCiphertext ? [db.insert(userClaims).values({ userId: id, ciphertext: claimsCiphertext, updatedAt: now })] : []),
  ]);
  const user = (inserted as User[])[0];
  if (!user) throw new Error('insert returned no row');
  return user;
}

/** Finds a user by username (the lower-cased email). */
export async function findUserByUsername(db: Database, email: string): Promise<User | undefined> {
  return db.query.users.findFirst({ where: eq(users.username, normaliseUsername(email)) });
}
