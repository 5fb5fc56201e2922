/**
 * `ForgotPassword`, `ConfirmForgotPassword`, `ChangePassword`. A reset works as on the hosted pages: an emailed code,
 * then the new password confirms the account, lifts any lock-out and signs the user out everywhere. Unknown users get
 * the same answers as known ones (user-existence errors prevented).
 */
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { checkPasswordPolicy, hashPassword, verifyPassword } from '../../../../lib/password.ts';
import { users } from '../../../../schema/index.ts';
import { resetCodeMail } from '../../mail/messages.ts';
import { mailSender } from '../../mail/sender.ts';
import { revokeUserFamilies } from '../../store/refresh-tokens.ts';
import { revokeUserSessions } from '../../store/sessions.ts';
import { recordUserFailure, resetPassword } from '../../store/user-auth.ts';
import { findUserByUsername } from '../../store/users.ts';
import { consumeVerificationCode, issueVerificationCode } from '../../store/verification.ts';
import { cognitoClient, requireSecretHash } from '../app-client.ts';
import { codeMismatch, invalidPassword, notAuthorized } from '../errors.ts';
import { defineOperation, fields } from '../operation.ts';
import { storeSrpVerifier } from '../srp-store.ts';
import { requireAccessToken } from '../tokens.ts';
import { delivery } from './signup.ts';

const withSecret = { ClientId: fields.clientId, SecretHash: fields.secretHash, Username: fields.username, ClientMetadata: fields.metadata };

/** `ForgotPassword`. */
export const forgotPassword = defineOperation({
  input: z.object(withSecret),
  run: async (ctx, input) => {
    const client = await cognitoClient(ctx.db, input.ClientId);
    await requireSecretHash(ctx.db, ctx.fernet, client, [input.Username], input.SecretHash);
    const user = await findUserByUsername(ctx.db, input.Username);
    if (user && user.enabled && user.status !== 'EXTERNAL_PROVIDER') {
      const code = await issueVerificationCode(ctx.db, user.id, 'reset');
      if (code) await mailSender(ctx.env, ctx.db).send(resetCodeMail(user.email, code));
    }
    return { CodeDeliveryDetails: delivery(user?.email ?? input.Username.trim().toLowerCase()) };
  },
});

/** `ConfirmForgotPassword`. */
export const confirmForgotPassword = defineOperation({
  input: z.object({ ...withSecret, ConfirmationCode: fields.code, Password: fields.password }),
  run: async (ctx, input) => {
    const client = await cognitoClient(ctx.db, input.ClientId);
    await requireSecretHash(ctx.db, ctx.fernet, client, [input.Username], input.SecretHash);
    const user = await findUserByUsername(ctx.db, input.Username);
    const policy = checkPasswordPolicy(input.Password, { email: user?.email ?? input.Username });
    if (!policy.ok) throw invalidPassword(policy.reasons);
    const code = input.ConfirmationCode.trim();
    const ok = user !== undefined && user.enabled && user.status !== 'EXTERNAL_PROVIDER' && /^\d{6}$/.test(code) && (await consumeVerificationCode(ctx.db, user.id, 'reset', code));
    if (!user || !ok) throw codeMismatch();
    await resetPassword(ctx.db, user.id, await hashPassword(input.Password));
    await storeSrpVerifier(ctx.db, ctx.fernet, { userId: user.id, username: user.username, password: input.Password, poolName: ctx.cognito.poolName });
    await revokeUserFamilies(ctx.db, user.id, 'signed_out');
    await revokeUserSessions(ctx.db, user.id);
    return {};
  },
});

/** `ChangePassword`: the previous password is checked (a wrong one counts towards the lock-out). */
export const changePassword = defineOperation({
  input: z.object({ PreviousPassword: fields.password, ProposedPassword: fields.password, AccessToken: fields.token }),
  run: async (ctx, input) => {
    const { user } = await requireAccessToken(ctx, input.AccessToken);
    if (user.lockedUntil !== null && user.lockedUntil > Date.now()) throw notAuthorized('Password attempts exceeded');
    const previous = user.passwordHash ? await verifyPassword(input.PreviousPassword, user.passwordHash) : { ok: false };
    if (!previous.ok) {
      await recordUserFailure(ctx.db, user.id, ctx.auth);
      throw notAuthorized();
    }
    const policy = checkPasswordPolicy(input.ProposedPassword, { email: user.email });
    if (!policy.ok) throw invalidPassword(policy.reasons);
    await ctx.db.update(users).set({ passwordHash: await hashPassword(input.ProposedPassword), failedLogins: 0, updatedAt: Date.now() }).where(eq(users.id, user.id));
    await storeSrpVerifier(ctx.db, ctx.fernet, { userId: user.id, username: user.username, password: input.ProposedPassword, poolName: ctx.cognito.poolName });
    return {};
  },
});
