/**
 * Administration of users: list, show, create, groups, password, status, enable/disable, delete. Runtime-neutral over the
 * drizzle `Database`, shared by the operator CLI and the Worker's admin API; every change writes an `audit_log` row.
 * Hasura claims (roles, extra `x-hasura-*` values, rotation, import) are in claims-admin.ts.
 */
import { asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { randomToken } from '../../../lib/encoding.ts';
import { Problem } from '../../../lib/errors.ts';
import type { MultiFernet } from '../../../lib/fernet.ts';
import { checkPasswordPolicy, hashPassword } from '../../../lib/password.ts';
import { groups, userGroups, users, type USER_STATUSES } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';
import { auditEntry, invalid, notFound, type AdminActor } from './client-admin.ts';
import { buildRoleClaims, claimsInputSchema, type ClaimsInput } from './claims-admin.ts';
import { revokeUserFamilies } from './refresh-tokens.ts';
import { createUser } from './users.ts';

/** A user status, as Cognito reports it. */
export type UserStatus = (typeof USER_STATUSES)[number];

/** An email as a username: trimmed, lower-cased, and shaped like an address. */
export const emailSchema = z.string().trim().toLowerCase().pipe(z.email('is not a valid email address'));

/** Group names as Cognito allows them, without whitespace or commas (which the CLI uses as a separator). */
export const groupsSchema = z.array(z.string().regex(/^[^\s,]{1,128}$/u, 'is not a valid group name')).max(100);

/** A user with what an operator wants to see at a glance; never the password hash. */
export type UserSummary = {
  id: string;
  email: string;
  status: UserStatus;
  enabled: boolean;
  emailVerified: boolean;
  hasPassword: boolean;
  hasClaims: boolean;
  groups: string[];
  createdAt: number;
  updatedAt: number | null;
};

// Correlated subqueries name the outer table in full: drizzle renders a lone column of a one-table select unqualified.
const summaryFields = {
  id: users.id,
  email: users.username,
  status: users.status,
  enabled: users.enabled,
  emailVerified: users.emailVerified,
  hasPassword: sql<number>`${users.passwordHash} IS NOT NULL`.as('has_password'),
  hasClaims: sql<number>`EXISTS (SELECT 1 FROM user_claims c WHERE c.user_id = "users"."id")`.as('has_claims'),
  groups: sql<string>`(SELECT json_group_array(g.group_name) FROM (SELECT group_name FROM user_groups WHERE user_id = "users"."id" ORDER BY group_name) g)`.as('group_names'),
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
};

const selectSummaries = (db: Database) => db.select(summaryFields).from(users);
type SummaryRow = Awaited<ReturnType<typeof selectSummaries>>[number];

const toSummary = (row: SummaryRow): UserSummary => ({
  ...row,
  hasPassword: Boolean(row.hasPassword),
  hasClaims: Boolean(row.hasClaims),
  groups: JSON.parse(row.groups) as string[],
});

/** Users in username order, one page at a time (one query, also over wrangler). */
export async function listUsers(db: Database, page: { limit?: number; offset?: number } = {}): Promise<UserSummary[]> {
  const rows = await selectSummaries(db).orderBy(asc(users.username)).limit(page.limit ?? 100).offset(page.offset ?? 0);
  return rows.map(toSummary);
}

/** One user by email (case-insensitive), or a 404 problem. */
export async function getUser(db: Database, email: string): Promise<UserSummary> {
  const username = email.trim().toLowerCase();
  const [row] = await selectSummaries(db).where(eq(users.username, username));
  if (!row) throw notFound(`no user ${username}`);
  return toSummary(row);
}

/** A password that passes the policy, for an operator to hand over once (status FORCE_CHANGE_PASSWORD). */
export function generateTemporaryPassword(): string {
  for (;;) {
    const candidate = `Tmp-${randomToken(12)}`;
    if (checkPasswordPolicy(candidate).ok) return candidate;
  }
}

function requirePolicy(password: string, email: string): void {
  const policy = checkPasswordPolicy(password, { email });
  if (!policy.ok) {
    throw new Problem(400, 'Bad Request', { detail: `weak password: ${policy.reasons.join(' ')}`, type: 'urn:gatehouse:problem:weak-password' });
  }
}

/** What an operator gives to create a user; `password` and `temporaryPassword` exclude each other. */
export type NewAccount = {
  email: string;
  password?: string;
  temporaryPassword?: boolean;
  groups?: string[];
} & Partial<ClaimsInput>;

/**
 * Creates a user. With a password the user is CONFIRMED; with a generated temporary one (returned once) FORCE_CHANGE_PASSWORD;
 * with neither RESET_REQUIRED. Roles or extra claims are stored as Fernet-encrypted Hasura claims, so they need `fernet`.
 */
export async function createAccount(db: Database, fernet: MultiFernet | null, input: NewAccount, by: AdminActor): Promise<{ user: UserSummary; temporaryPassword: string | null }> {
  const email = emailSchema.safeParse(input.email);
  if (!email.success) throw invalid('email', email.error);
  const groupList = groupsSchema.safeParse(input.groups ?? []);
  if (!groupList.success) throw invalid('groups', groupList.error);
  if (input.password !== undefined && input.temporaryPassword) throw new Problem(400, 'Bad Request', { detail: 'give a password or a temporary password, not both' });
  const wantsClaims = (input.roles?.length ?? 0) > 0 || Object.keys(input.claims ?? {}).length > 0;
  const claimsInput = claimsInputSchema.safeParse({ roles: input.roles ?? [], defaultRole: input.defaultRole, claims: input.claims ?? {} });
  if (!claimsInput.success) throw invalid('claims', claimsInput.error);
  if (wantsClaims && !fernet) throw new Problem(400, 'Bad Request', { detail: 'storing claims needs CLAIMS_FERNET_KEYS' });
  if (input.password !== undefined) requirePolicy(input.password, email.data);
  if (await db.query.users.findFirst({ where: eq(users.username, email.data), columns: { id: true } })) {
    throw new Problem(409, 'Conflict', { detail: `user ${email.data} already exists`, type: 'urn:gatehouse:problem:conflict' });
  }

  const id = crypto.randomUUID();
  const temporaryPassword = input.temporaryPassword ? generateTemporaryPassword() : null;
  const password = input.password ?? temporaryPassword ?? undefined;
  const status: UserStatus = input.password !== undefined ? 'CONFIRMED' : temporaryPassword ? 'FORCE_CHANGE_PASSWORD' : 'RESET_REQUIRED';
  const claims = wantsClaims ? buildRoleClaims(null, id, claimsInput.data) : undefined;
  await createUser(db, fernet ?? NO_KEYS, { id, email: email.data, password, status, emailVerified: true, groups: groupList.data, claims });
  await auditEntry(db, by, 'user.create', id, { email: email.data, status, groups: groupList.data, roles: claimsInput.data.roles });
  return { user: await getUser(db, email.data), temporaryPassword };
}

/** createUser only touches the key ring when there are claims to encrypt, which `createAccount` checked above. */
const NO_KEYS: MultiFernet = {
  encrypt: () => Promise.reject(new Error('no CLAIMS_FERNET_KEYS')),
  decrypt: () => Promise.reject(new Error('no CLAIMS_FERNET_KEYS')),
  decryptText: () => Promise.reject(new Error('no CLAIMS_FERNET_KEYS')),
  rotate: () => Promise.reject(new Error('no CLAIMS_FERNET_KEYS')),
};

/** Replaces a user's group memberships (groups are created as needed); returns the new list. */
export async function setUserGroups(db: Database, email: string, groupNames: string[], by: AdminActor): Promise<string[]> {
  const parsed = groupsSchema.safeParse(groupNames);
  if (!parsed.success) throw invalid('groups', parsed.error);
  const user = await getUser(db, email);
  const wanted = [...new Set(parsed.data)].sort();
  await db.batch([
    db.delete(userGroups).where(eq(userGroups.userId, user.id)),
    ...wanted.map((name) => db.insert(groups).values({ name }).onConflictDoNothing()),
    ...wanted.map((groupName) => db.insert(userGroups).values({ userId: user.id, groupName })),
    auditEntry(db, by, 'user.set_groups', user.id, { groups: wanted }),
  ]);
  return wanted;
}

/**
 * Sets a password that passes the policy (status CONFIRMED), or generates a temporary one returned once (status
 * FORCE_CHANGE_PASSWORD). Failed-sign-in counters and any lock-out are cleared.
 */
export async function setUserPassword(db: Database, email: string, change: { password: string } | { temporary: true }, by: AdminActor): Promise<{ temporaryPassword: string | null }> {
  const user = await getUser(db, email);
  const temporaryPassword = 'temporary' in change ? generateTemporaryPassword() : null;
  const password = 'password' in change ? change.password : (temporaryPassword ?? '');
  if ('password' in change) requirePolicy(password, user.email);
  const status: UserStatus = temporaryPassword ? 'FORCE_CHANGE_PASSWORD' : 'CONFIRMED';
  await db.batch([
    db.update(users).set({ passwordHash: await hashPassword(password), status, failedLogins: 0, lockedUntil: null, updatedAt: Date.now() }).where(eq(users.id, user.id)),
    auditEntry(db, by, 'user.set_password', user.id, { status }),
  ]);
  return { temporaryPassword };
}

/** Sets a user's Cognito status (e.g. RESET_REQUIRED to force a reset at the next sign-in). */
export async function setUserStatus(db: Database, email: string, status: UserStatus, by: AdminActor): Promise<UserSummary> {
  const user = await getUser(db, email);
  await db.batch([
    db.update(users).set({ status, updatedAt: Date.now() }).where(eq(users.id, user.id)),
    auditEntry(db, by, 'user.set_status', user.id, { from: user.status, to: status }),
  ]);
  return { ...user, status };
}

/** Enables or disables a user; disabling also revokes every refresh-token family, so existing sessions end. */
export async function setUserEnabled(db: Database, email: string, enabled: boolean, by: AdminActor): Promise<{ user: UserSummary; revokedFamilies: number }> {
  const user = await getUser(db, email);
  await db.batch([
    db.update(users).set({ enabled, updatedAt: Date.now() }).where(eq(users.id, user.id)),
    auditEntry(db, by, enabled ? 'user.enable' : 'user.disable', user.id),
  ]);
  const revoked = enabled ? 0 : await revokeUserFamilies(db, user.id, 'user_disabled');
  return { user: { ...user, enabled }, revokedFamilies: revoked };
}

/**
 * Deletes a user. Token families are revoked first (their `revoked_families` rows outlive the user, so issued access tokens
 * keep failing); claims, groups, identities, sessions and refresh tokens go by ON DELETE CASCADE.
 */
export async function deleteAccount(db: Database, email: string, by: AdminActor): Promise<{ user: UserSummary; revokedFamilies: number }> {
  const user = await getUser(db, email);
  const revoked = await revokeUserFamilies(db, user.id, 'revoked');
  await db.batch([db.delete(users).where(eq(users.id, user.id)), auditEntry(db, by, 'user.delete', user.id, { email: user.email })]);
  return { user, revokedFamilies: revoked };
}
