/**
 * USER_SRP_AUTH: InitiateAuth answers the PASSWORD_VERIFIER challenge (SALT, SRP_B, SECRET_BLOCK, USER_ID_FOR_SRP) and
 * RespondToAuthChallenge checks PASSWORD_CLAIM_SIGNATURE, as amazon-cognito-identity-js and Amplify drive it. An unknown
 * user, or one without a verifier, gets a decoy challenge that fails like a wrong password (no user enumeration).
 */
import { base64ToBytes, bytesToBase64, bytesToHex, timingSafeEqual, utf8 } from '../../../../lib/encoding.ts';
import { fromHex, g, hmacSha256, mod, modPow, N, padHex } from '../../../../lib/srp/group.ts';
import { passwordClaimSignature, serverEphemeral, serverSessionKey, SrpParameterError } from '../../../../lib/srp/session.ts';
import { parseSrpTimestamp } from '../../../../lib/srp/timestamp.ts';
import type { AppClient } from '../../store/clients.ts';
import { isIpLocked, recordIpFailure } from '../../store/throttle.ts';
import { recordUserFailure, recordUserSuccess } from '../../store/user-auth.ts';
import { findUserById } from '../../store/user-lookup.ts';
import { findUserByUsername, normaliseUsername } from '../../store/users.ts';
import { requireSecretHash } from '../app-client.ts';
import { consumeChallenge, openChallenge } from '../challenge.ts';
import { invalidParameter, notAuthorized } from '../errors.ts';
import type { CognitoContext } from '../operation.ts';
import { loadSrpVerifier } from '../srp-store.ts';
import { afterPasswordProven, resetRequired, type AuthOutput } from './sign-in.ts';

/** How far the client's TIMESTAMP may be from the server's clock. */
const TIMESTAMP_SKEW_MS = 5 * 60 * 1000;

/** A decoy salt and verifier for a name with no usable verifier: stable per name, unrelated to any password. */
async function decoy(secret: string, name: string): Promise<{ salt: string; verifier: string }> {
  const mac = await hmacSha256(utf8(secret), utf8(`gatehouse/srp-decoy/v1/${name}`));
  return { salt: padHex(fromHex(bytesToHex(mac.slice(0, 16)))), verifier: padHex(modPow(g, fromHex(bytesToHex(mac)), N)) };
}

/** InitiateAuth with USER_SRP_AUTH: opens the PASSWORD_VERIFIER challenge. */
export async function startSrp(ctx: CognitoContext, client: AppClient, params: { USERNAME: string; SRP_A: string; SECRET_HASH?: string | undefined }): Promise<AuthOutput> {
  if (!/^[0-9a-fA-F]{1,1024}$/.test(params.SRP_A) || mod(fromHex(params.SRP_A), N) === 0n) throw invalidParameter('SRP_A is not a valid SRP value.');
  await requireSecretHash(ctx.db, ctx.fernet, client, [params.USERNAME], params.SECRET_HASH);
  const user = await findUserByUsername(ctx.db, params.USERNAME);
  if (user && user.enabled && user.status === 'RESET_REQUIRED' && user.passwordHash === null) throw resetRequired();
  const stored = user ? await loadSrpVerifier(ctx.db, ctx.fernet, user, ctx.cognito.poolName) : undefined;
  if (user && !stored) ctx.log.warn('srp sign-in without a current verifier', { userId: user.id, hint: 'the user must sign in once with USER_PASSWORD_AUTH or reset the password' });
  const srpUsername = stored?.srpUsername ?? user?.username ?? normaliseUsername(params.USERNAME);
  const { salt, verifier } = stored ?? (await decoy(ctx.env.SESSION_COOKIE_KEY, srpUsername));
  const { b, B } = await serverEphemeral(verifier);
  const secretBlock = await openChallenge(ctx.db, ctx.env.SESSION_COOKIE_KEY, 'PASSWORD_VERIFIER', {
    userId: stored && user ? user.id : null,
    clientId: client.id,
    state: { b: b.toString(16), B: B.toString(16), A: params.SRP_A, srp: srpUsername, salt },
  });
  return {
    ChallengeName: 'PASSWORD_VERIFIER',
    ChallengeParameters: { SALT: salt, SECRET_BLOCK: secretBlock, SRP_B: B.toString(16), USERNAME: user?.username ?? srpUsername, USER_ID_FOR_SRP: srpUsername },
  };
}

/** The PASSWORD_VERIFIER answer's fields. */
export type VerifierResponses = {
  USERNAME: string;
  PASSWORD_CLAIM_SECRET_BLOCK: string;
  PASSWORD_CLAIM_SIGNATURE: string;
  TIMESTAMP: string;
  SECRET_HASH?: string | undefined;
};

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** RespondToAuthChallenge with PASSWORD_VERIFIER: checks the signature, with per-account and per-IP lock-out. */
export async function verifySrp(ctx: CognitoContext, client: AppClient, r: VerifierResponses): Promise<AuthOutput> {
  const signedAt = parseSrpTimestamp(r.TIMESTAMP);
  if (signedAt === undefined) throw invalidParameter('TIMESTAMP must look like "Tue Nov 3 07:32:24 UTC 2026".');
  await requireSecretHash(ctx.db, ctx.fernet, client, [r.USERNAME], r.SECRET_HASH);
  const state = await consumeChallenge(ctx.db, ctx.env.SESSION_COOKIE_KEY, 'PASSWORD_VERIFIER', r.PASSWORD_CLAIM_SECRET_BLOCK, client.id);
  if (!state) throw notAuthorized('Invalid session for the user, session is expired.');
  const now = Date.now();
  const ipLocked = ctx.ip ? await isIpLocked(ctx.db, ctx.ip, now) : false;
  const fail = async (reason: string, userId?: string) => {
    if (ctx.ip && !ipLocked) await recordIpFailure(ctx.db, ctx.ip, ctx.auth, now);
    if (userId) await recordUserFailure(ctx.db, userId, ctx.auth, now);
    return notAuthorized(undefined, reason);
  };
  if (state.uid === null) throw await fail('srp decoy challenge answered');
  const user = await findUserById(ctx.db, state.uid);
  const stored = user ? await loadSrpVerifier(ctx.db, ctx.fernet, user, ctx.cognito.poolName) : undefined;
  if (!user || !stored || stored.salt !== state.salt) throw await fail('verifier changed during the challenge');
  const srpUsername = str(state.srp);
  if (r.USERNAME !== srpUsername && normaliseUsername(r.USERNAME) !== user.username) throw await fail('USERNAME does not match the challenge');
  if (Math.abs(now - signedAt) > TIMESTAMP_SKEW_MS) throw notAuthorized(undefined, 'TIMESTAMP outside 5 minutes');

  let expected: string;
  try {
    const key = await serverSessionKey({ A: fromHex(str(state.A)), B: fromHex(str(state.B)), b: fromHex(str(state.b)), verifierHex: stored.verifier });
    expected = await passwordClaimSignature(key, { poolName: ctx.cognito.poolName, userId: srpUsername, secretBlock: base64ToBytes(r.PASSWORD_CLAIM_SECRET_BLOCK), timestamp: r.TIMESTAMP });
  } catch (err) {
    if (err instanceof SrpParameterError) throw await fail(err.message, user.id);
    throw err;
  }
  let given = '';
  try {
    given = bytesToBase64(base64ToBytes(r.PASSWORD_CLAIM_SIGNATURE));
  } catch {
    /* an undecodable signature is simply wrong */
  }
  if (ipLocked) throw notAuthorized(undefined, 'ip locked');
  if (user.lockedUntil !== null && user.lockedUntil > now) throw notAuthorized(undefined, 'user locked');
  if (!timingSafeEqual(expected, given)) throw await fail('wrong password (srp signature)', user.id);
  await recordUserSuccess(ctx.db, user.id, undefined, now);
  return afterPasswordProven(ctx, client, user);
}
