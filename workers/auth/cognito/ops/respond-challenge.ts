/** `RespondToAuthChallenge`: PASSWORD_VERIFIER (SRP) and NEW_PASSWORD_REQUIRED. */
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { sha256Hex, timingSafeEqual } from '../../../../lib/encoding.ts';
import { checkPasswordPolicy, hashPassword } from '../../../../lib/password.ts';
import { users } from '../../../../schema/index.ts';
import type { AppClient } from '../../store/clients.ts';
import { completeNewPassword } from '../../store/user-auth.ts';
import { findUserById } from '../../store/user-lookup.ts';
import { cognitoClient, requireSecretHash } from '../app-client.ts';
import { applyAttributes, type AttributeType } from '../attributes.ts';
import { consumeChallenge, readChallenge } from '../challenge.ts';
import { invalidParameter, invalidPassword, notAuthorized } from '../errors.ts';
import { defineOperation, fields, type CognitoContext } from '../operation.ts';
import { storeSrpVerifier } from '../srp-store.ts';
import { authenticationResult } from '../tokens.ts';
import type { AuthOutput } from './sign-in.ts';
import { verifySrp } from './srp.ts';

const SESSION_EXPIRED = 'Invalid session for the user, session is expired.';
const ATTRIBUTE_PREFIX = 'userAttributes.';

/** NEW_PASSWORD_REQUIRED: the temporary password's challenge, answered with a new password (and optional attributes). */
async function newPassword(ctx: CognitoContext, client: AppClient, session: string | undefined, r: Record<string, string>): Promise<AuthOutput> {
  const password = r.NEW_PASSWORD;
  if (!r.USERNAME || !password) throw invalidParameter('Missing required parameter USERNAME or NEW_PASSWORD');
  await requireSecretHash(ctx.db, ctx.fernet, client, [r.USERNAME], r.SECRET_HASH);
  // Read first and consume only once the new password and attributes are valid, so a rejected password can be retried.
  const secret = ctx.env.SESSION_COOKIE_KEY;
  const state = session ? await readChallenge(secret, 'NEW_PASSWORD_REQUIRED', session, client.id) : undefined;
  const user = state?.uid ? await findUserById(ctx.db, state.uid) : undefined;
  const oldHash = user?.passwordHash;
  if (!session || !state || !user || !oldHash || user.status !== 'FORCE_CHANGE_PASSWORD' || !timingSafeEqual(await sha256Hex(oldHash), String(state.h))) {
    throw notAuthorized(SESSION_EXPIRED);
  }
  const policy = checkPasswordPolicy(password, { email: user.email });
  if (!policy.ok) throw invalidPassword(policy.reasons);
  const updates: AttributeType[] = Object.entries(r)
    .filter(([k]) => k.startsWith(ATTRIBUTE_PREFIX))
    .map(([k, v]) => ({ Name: k.slice(ATTRIBUTE_PREFIX.length), Value: v }));
  const changes = applyAttributes(user.attributes, updates, { allowEmail: false });
  if (!(await consumeChallenge(ctx.db, secret, 'NEW_PASSWORD_REQUIRED', session, client.id))) throw notAuthorized(SESSION_EXPIRED);
  const updated = await completeNewPassword(ctx.db, user.id, oldHash, await hashPassword(password));
  if (!updated || !updated.enabled) throw notAuthorized(SESSION_EXPIRED);
  if (updates.length) await ctx.db.update(users).set({ attributes: changes.attributes }).where(eq(users.id, user.id));
  await storeSrpVerifier(ctx.db, ctx.fernet, { userId: user.id, username: updated.username, password, poolName: ctx.cognito.poolName });
  const result = await authenticationResult(ctx, { user: { ...updated, attributes: changes.attributes }, client, triggerSource: 'TokenGeneration_NewPasswordChallenge' });
  return { ChallengeParameters: {}, AuthenticationResult: result };
}

/** `RespondToAuthChallenge`. */
export const respondToAuthChallenge = defineOperation({
  input: z.object({
    ClientId: fields.clientId,
    ChallengeName: z.string().min(1),
    Session: z.string().min(1).max(8192).optional(),
    ChallengeResponses: z.record(z.string(), z.string()).default({}),
    ClientMetadata: fields.metadata,
  }),
  run: async (ctx, input) => {
    const client = await cognitoClient(ctx.db, input.ClientId);
    const r = input.ChallengeResponses;
    if (input.ChallengeName === 'NEW_PASSWORD_REQUIRED') return newPassword(ctx, client, input.Session, r);
    if (input.ChallengeName !== 'PASSWORD_VERIFIER') throw invalidParameter(`Unsupported challenge ${input.ChallengeName}: Gatehouse answers PASSWORD_VERIFIER and NEW_PASSWORD_REQUIRED.`);
    const { USERNAME, PASSWORD_CLAIM_SECRET_BLOCK, PASSWORD_CLAIM_SIGNATURE, TIMESTAMP } = r;
    if (!USERNAME || !PASSWORD_CLAIM_SECRET_BLOCK || !PASSWORD_CLAIM_SIGNATURE || !TIMESTAMP) {
      throw invalidParameter('Missing required parameter USERNAME, PASSWORD_CLAIM_SECRET_BLOCK, PASSWORD_CLAIM_SIGNATURE or TIMESTAMP');
    }
    return verifySrp(ctx, client, { USERNAME, PASSWORD_CLAIM_SECRET_BLOCK, PASSWORD_CLAIM_SIGNATURE, TIMESTAMP, SECRET_HASH: r.SECRET_HASH });
  },
});
