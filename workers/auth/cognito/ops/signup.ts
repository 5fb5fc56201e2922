/**
 * `SignUp`, `ConfirmSignUp`, `ResendConfirmationCode`: self-service registration with the emailed 6-digit code the hosted
 * pages use (same store, same mail). Usernames are email addresses. As in a Cognito pool with user-existence errors
 * prevented, confirming or resending for an unknown user reads like a wrong code or a sent one.
 */
import { z } from 'zod';
import { checkPasswordPolicy } from '../../../../lib/password.ts';
import { signupCodeMail } from '../../mail/messages.ts';
import { mailSender } from '../../mail/sender.ts';
import { emailSchema } from '../../store/user-admin.ts';
import { confirmSignup } from '../../store/user-auth.ts';
import { createUser, findUserByUsername, type User } from '../../store/users.ts';
import { consumeVerificationCode, issueVerificationCode } from '../../store/verification.ts';
import { cognitoClient, requireSecretHash } from '../app-client.ts';
import { applyAttributes } from '../attributes.ts';
import { CognitoError, codeMismatch, invalidParameter, invalidPassword, notAuthorized } from '../errors.ts';
import { defineOperation, fields, type CognitoContext } from '../operation.ts';
import { storeSrpVerifier } from '../srp-store.ts';

/** Cognito's masked destination, e.g. `a***@e***`. */
export const maskEmail = (email: string): string => {
  const [local = '', domain = ''] = email.split('@');
  return `${local.charAt(0)}***@${domain.charAt(0)}***`;
};

/** CodeDeliveryDetails for a code mailed to an address. */
export const delivery = (email: string) => ({ Destination: maskEmail(email), DeliveryMedium: 'EMAIL', AttributeName: 'email' });

/** Mails a fresh sign-up code unless one went out in the last 30 seconds (the earlier code then still works). */
async function sendCode(ctx: CognitoContext, user: User): Promise<void> {
  const code = await issueVerificationCode(ctx.db, user.id, 'signup');
  if (code) await mailSender(ctx.env, ctx.db).send(signupCodeMail(user.email, code));
}

/** A username that must be an email address, as in a pool whose username attribute is email. */
function emailUsername(username: string): string {
  const parsed = emailSchema.safeParse(username);
  if (!parsed.success) throw invalidParameter('Username should be an email.');
  return parsed.data;
}

const withSecret = { ClientId: fields.clientId, SecretHash: fields.secretHash, Username: fields.username, ClientMetadata: fields.metadata };

/** `SignUp`. */
export const signUp = defineOperation({
  input: z.object({ ...withSecret, Password: fields.password, UserAttributes: fields.attributes.default([]), ValidationData: fields.attributes.optional() }),
  run: async (ctx, input) => {
    const client = await cognitoClient(ctx.db, input.ClientId);
    await requireSecretHash(ctx.db, ctx.fernet, client, [input.Username], input.SecretHash);
    if (!ctx.auth.signupEnabled) throw notAuthorized('SignUp is not permitted for this user pool');
    const email = emailUsername(input.Username);
    const changes = applyAttributes({}, input.UserAttributes.filter((a) => a.Name !== 'email_verified'), { allowEmail: true });
    if (changes.email !== undefined && changes.email !== email) throw invalidParameter('The email attribute must equal the username.');
    const policy = checkPasswordPolicy(input.Password, { email });
    if (!policy.ok) throw invalidPassword(policy.reasons);
    if (await findUserByUsername(ctx.db, email)) throw new CognitoError('UsernameExistsException', 'User already exists');
    let user: User;
    try {
      user = await createUser(ctx.db, ctx.fernet, { email, password: input.Password, status: 'UNCONFIRMED', attributes: changes.attributes });
    } catch (err) {
      if (await findUserByUsername(ctx.db, email)) throw new CognitoError('UsernameExistsException', 'User already exists');
      throw err;
    }
    await storeSrpVerifier(ctx.db, ctx.fernet, { userId: user.id, username: user.username, password: input.Password, poolName: ctx.cognito.poolName });
    await sendCode(ctx, user);
    return { UserConfirmed: false, UserSub: user.id, CodeDeliveryDetails: delivery(user.email) };
  },
});

/** `ConfirmSignUp`. */
export const confirmSignUp = defineOperation({
  input: z.object({ ...withSecret, ConfirmationCode: fields.code, ForceAliasCreation: z.boolean().optional() }),
  run: async (ctx, input) => {
    const client = await cognitoClient(ctx.db, input.ClientId);
    await requireSecretHash(ctx.db, ctx.fernet, client, [input.Username], input.SecretHash);
    const user = await findUserByUsername(ctx.db, input.Username);
    if (user && user.status !== 'UNCONFIRMED') throw notAuthorized(`User cannot be confirmed. Current status is ${user.status}`);
    const code = input.ConfirmationCode.trim();
    const ok = user !== undefined && /^\d{6}$/.test(code) && (await consumeVerificationCode(ctx.db, user.id, 'signup', code)) && (await confirmSignup(ctx.db, user.id));
    if (!ok) throw codeMismatch();
    return {};
  },
});

/** `ResendConfirmationCode`. */
export const resendConfirmationCode = defineOperation({
  input: z.object(withSecret),
  run: async (ctx, input) => {
    const client = await cognitoClient(ctx.db, input.ClientId);
    await requireSecretHash(ctx.db, ctx.fernet, client, [input.Username], input.SecretHash);
    const user = await findUserByUsername(ctx.db, input.Username);
    if (user && user.status !== 'UNCONFIRMED') throw invalidParameter('User is already confirmed.');
    if (user && user.enabled) await sendCode(ctx, user);
    return { CodeDeliveryDetails: delivery(user?.email ?? input.Username.trim().toLowerCase()) };
  },
});
