/**
 * What follows a proven password, whichever way it was proven (USER_PASSWORD_AUTH, SRP's PASSWORD_VERIFIER): tokens
 * for a CONFIRMED user, the NEW_PASSWORD_REQUIRED challenge for FORCE_CHANGE_PASSWORD, or Cognito's exception for
 * every other status.
 */
import { sha256Hex } from '../../../../lib/encoding.ts';
import type { AppClient } from '../../store/clients.ts';
import type { User } from '../../store/users.ts';
import { attributesOf } from '../attributes.ts';
import { openChallenge } from '../challenge.ts';
import { CognitoError, notAuthorized } from '../errors.ts';
import type { CognitoContext } from '../operation.ts';
import { authenticationResult, type AuthenticationResult } from '../tokens.ts';

/** InitiateAuth / RespondToAuthChallenge output: tokens, or the next challenge. */
export type AuthOutput =
  | { ChallengeParameters: Record<string, never>; AuthenticationResult: AuthenticationResult }
  | { ChallengeName: string; Session?: string; ChallengeParameters: Record<string, string> };

/** Cognito's exception for a user who gave the right password but has not confirmed their sign-up. */
export const userNotConfirmed = () => new CognitoError('UserNotConfirmedException', 'User is not confirmed.');

/** Cognito's exception for a user who must reset their password (imported users, or an administrator's reset). */
export const resetRequired = () => new CognitoError('PasswordResetRequiredException', 'Password reset required for the user');

/** The NEW_PASSWORD_REQUIRED challenge, bound to the temporary password's hash so it dies when the password changes. */
export async function newPasswordChallenge(ctx: CognitoContext, client: AppClient, user: User): Promise<AuthOutput> {
  const session = await openChallenge(ctx.db, ctx.env.SESSION_COOKIE_KEY, 'NEW_PASSWORD_REQUIRED', {
    userId: user.id,
    clientId: client.id,
    state: { h: await sha256Hex(user.passwordHash ?? '') },
  });
  const userAttributes = Object.fromEntries(attributesOf(user).filter((a) => a.Name !== 'sub').map((a) => [a.Name, a.Value ?? '']));
  return {
    ChallengeName: 'NEW_PASSWORD_REQUIRED',
    Session: session,
    ChallengeParameters: { USER_ID_FOR_SRP: user.username, requiredAttributes: '[]', userAttributes: JSON.stringify(userAttributes) },
  };
}

/** Answers a sign-in whose password was just proven, according to the user's status. */
export async function afterPasswordProven(ctx: CognitoContext, client: AppClient, user: User): Promise<AuthOutput> {
  if (!user.enabled) throw notAuthorized('User is disabled.');
  switch (user.status) {
    case 'CONFIRMED':
      ctx.log.info('cognito sign-in', { userId: user.id, clientId: client.id });
      return { ChallengeParameters: {}, AuthenticationResult: await authenticationResult(ctx, { user, client, triggerSource: 'TokenGeneration_Authentication' }) };
    case 'FORCE_CHANGE_PASSWORD':
      return newPasswordChallenge(ctx, client, user);
    case 'UNCONFIRMED':
      throw userNotConfirmed();
    case 'RESET_REQUIRED':
      throw resetRequired();
    case 'EXTERNAL_PROVIDER':
      throw notAuthorized(undefined, 'external-provider user tried a password sign-in');
  }
}
