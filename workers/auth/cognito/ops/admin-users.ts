/**
 * `AdminCreateUser`, `AdminSetUserPassword`, `AdminGetUser`, `AdminUpdateUserAttributes`, `AdminDeleteUser`,
 * `AdminDisableUser`, `AdminEnableUser`: SigV4-signed operator calls. Every change writes an `audit_log` row.
 */
import { and, eq, ne } from 'drizzle-orm';
import { z } from 'zod';
import { checkPasswordPolicy, hashPassword } from '../../../../lib/password.ts';
import { users } from '../../../../schema/index.ts';
import { mailSender } from '../../mail/sender.ts';
import { auditEntry } from '../../store/client-admin.ts';
import { deleteAccount, emailSchema, generateTemporaryPassword, setUserEnabled } from '../../store/user-admin.ts';
import { createUser, findUserByUsername } from '../../store/users.ts';
import { applyAttributes, attributesOf, userType } from '../attributes.ts';
import { CognitoError, invalidParameter, invalidPassword } from '../errors.ts';
import { invitationMail } from '../messages.ts';
import { defineOperation, fields } from '../operation.ts';
import { storeSrpVerifier } from '../srp-store.ts';
import { actor, adminUser, requirePool, viaAdminStore } from './admin-common.ts';

const target = { UserPoolId: fields.userPoolId, Username: fields.username };

/** `AdminCreateUser`: status FORCE_CHANGE_PASSWORD with the given or a generated temporary password, mailed unless SUPPRESS. */
export const adminCreateUser = defineOperation({
  admin: true,
  input: z.object({
    ...target,
    UserAttributes: fields.attributes.default([]),
    TemporaryPassword: fields.password.optional(),
    MessageAction: z.enum(['RESEND', 'SUPPRESS']).optional(),
    DesiredDeliveryMediums: z.array(z.enum(['EMAIL', 'SMS'])).optional(),
    ForceAliasCreation: z.boolean().optional(),
    ClientMetadata: fields.metadata,
  }),
  run: async (ctx, input) => {
    requirePool(ctx, input.UserPoolId);
    const email = emailSchema.safeParse(input.Username);
    if (!email.success) throw invalidParameter('Username should be an email.');
    const changes = applyAttributes({}, input.UserAttributes, { allowEmail: true });
    if (changes.email !== undefined && changes.email !== email.data) throw invalidParameter('The email attribute must equal the username.');
    if (input.TemporaryPassword !== undefined) {
      const policy = checkPasswordPolicy(input.TemporaryPassword, { email: email.data });
      if (!policy.ok) throw invalidPassword(policy.reasons);
    }
    const temporary = input.TemporaryPassword ?? generateTemporaryPassword();
    const existing = await findUserByUsername(ctx.db, email.data);
    let user;
    if (input.MessageAction === 'RESEND') {
      if (!existing) throw new CognitoError('UserNotFoundException', 'User does not exist.');
      if (existing.status !== 'FORCE_CHANGE_PASSWORD') throw new CognitoError('UnsupportedUserStateException', `Resend not possible. ${existing.status} status user detected.`);
      [user] = await ctx.db.update(users).set({ passwordHash: await hashPassword(temporary), updatedAt: Date.now() }).where(eq(users.id, existing.id)).returning();
    } else {
      if (existing) throw new CognitoError('UsernameExistsException', 'User account already exists');
      user = await createUser(ctx.db, ctx.fernet, { email: email.data, password: temporary, status: 'FORCE_CHANGE_PASSWORD', emailVerified: changes.emailVerified ?? false, attributes: changes.attributes });
    }
    if (!user) throw new Error('user row missing after write');
    await storeSrpVerifier(ctx.db, ctx.fernet, { userId: user.id, username: user.username, password: temporary, poolName: ctx.cognito.poolName });
    await auditEntry(ctx.db, actor(ctx), 'user.create', user.id, { email: user.email, status: user.status, via: 'cognito', resend: input.MessageAction === 'RESEND' });
    if (input.MessageAction !== 'SUPPRESS') await mailSender(ctx.env, ctx.db).send(invitationMail(user.email, temporary));
    return { User: userType(user) };
  },
});

/** `AdminSetUserPassword`: permanent (CONFIRMED) or temporary (FORCE_CHANGE_PASSWORD); clears any lock-out. */
export const adminSetUserPassword = defineOperation({
  admin: true,
  input: z.object({ ...target, Password: fields.password, Permanent: z.boolean().default(false) }),
  run: async (ctx, input) => {
    requirePool(ctx, input.UserPoolId);
    const user = await adminUser(ctx, input.Username);
    const policy = checkPasswordPolicy(input.Password, { email: user.email });
    if (!policy.ok) throw invalidPassword(policy.reasons);
    const status = input.Permanent ? 'CONFIRMED' : 'FORCE_CHANGE_PASSWORD';
    await ctx.db.batch([
      ctx.db.update(users).set({ passwordHash: await hashPassword(input.Password), status, failedLogins: 0, lockedUntil: null, updatedAt: Date.now() }).where(eq(users.id, user.id)),
      auditEntry(ctx.db, actor(ctx), 'user.set_password', user.id, { status, via: 'cognito' }),
    ]);
    await storeSrpVerifier(ctx.db, ctx.fernet, { userId: user.id, username: user.username, password: input.Password, poolName: ctx.cognito.poolName });
    return {};
  },
});

/** `AdminGetUser`. */
export const adminGetUser = defineOperation({
  admin: true,
  input: z.object(target),
  run: async (ctx, input) => {
    requirePool(ctx, input.UserPoolId);
    const user = await adminUser(ctx, input.Username);
    const { Attributes: _, ...summary } = userType(user);
    return { ...summary, UserAttributes: attributesOf(user), MFAOptions: [], UserMFASettingList: [] };
  },
});

/** `AdminUpdateUserAttributes`: may change the email (which is the username); an address in use is AliasExistsException. */
export const adminUpdateUserAttributes = defineOperation({
  admin: true,
  input: z.object({ ...target, UserAttributes: fields.attributes, ClientMetadata: fields.metadata }),
  run: async (ctx, input) => {
    requirePool(ctx, input.UserPoolId);
    const user = await adminUser(ctx, input.Username);
    const changes = applyAttributes(user.attributes, input.UserAttributes, { allowEmail: true });
    const email = changes.email ?? user.email;
    if (email !== user.email) {
      const taken = await ctx.db.query.users.findFirst({ where: and(eq(users.username, email), ne(users.id, user.id)), columns: { id: true } });
      if (taken) throw new CognitoError('AliasExistsException', 'An account with the given email already exists.');
    }
    const emailVerified = changes.emailVerified ?? (email !== user.email ? false : user.emailVerified);
    await ctx.db.batch([
      ctx.db.update(users).set({ username: email, email, emailVerified, attributes: changes.attributes, updatedAt: Date.now() }).where(eq(users.id, user.id)),
      auditEntry(ctx.db, actor(ctx), 'user.update_attributes', user.id, { names: input.UserAttributes.map((a) => a.Name), via: 'cognito' }),
    ]);
    return {};
  },
});

/** `AdminDeleteUser`: token families revoked first, then the user and everything that cascades. */
export const adminDeleteUser = defineOperation({
  admin: true,
  input: z.object(target),
  run: async (ctx, input) => {
    requirePool(ctx, input.UserPoolId);
    const user = await adminUser(ctx, input.Username);
    await viaAdminStore(() => deleteAccount(ctx.db, user.username, actor(ctx)));
    return {};
  },
});

/** `AdminDisableUser` / `AdminEnableUser` (disabling revokes every refresh token family). */
const setEnabled = (enabled: boolean) =>
  defineOperation({
    admin: true,
    input: z.object(target),
    run: async (ctx, input) => {
      requirePool(ctx, input.UserPoolId);
      const user = await adminUser(ctx, input.Username);
      await viaAdminStore(() => setUserEnabled(ctx.db, user.username, enabled, actor(ctx)));
      return {};
    },
  });

/** `AdminDisableUser`. */
export const adminDisableUser = setEnabled(false);

/** `AdminEnableUser`. */
export const adminEnableUser = setEnabled(true);
