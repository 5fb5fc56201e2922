/**
 * `InitiateAuth`: USER_PASSWORD_AUTH (with lazy migration when configured), REFRESH_TOKEN_AUTH / REFRESH_TOKEN, and
 * USER_SRP_AUTH (which answers the PASSWORD_VERIFIER challenge, see srp.ts).
 */
import { z } from 'zod';
import { signIn } from '../../signin.ts';
import type { AppClient } from '../../store/clients.ts';
import { findRefreshToken, isFamilyRevoked } from '../../store/refresh-tokens.ts';
import { findUserById } from '../../store/user-lookup.ts';
import { cognitoClient, requireSecretHash } from '../app-client.ts';
import type { AUTH_FLOWS } from '../config.ts';
import { invalidParameter, notAuthorized } from '../errors.ts';
import { lazyMigrate } from '../lazy-migration.ts';
import { defineOperation, fields, type CognitoContext } from '../operation.ts';
import { ensureSrpVerifier } from '../srp-store.ts';
import { authenticationResult } from '../tokens.ts';
import { afterPasswordProven, resetRequired, userNotConfirmed, type AuthOutput } from './sign-in.ts';
import { startSrp } from './srp.ts';

const params = z.record(z.string(), z.string());

/** USER_PASSWORD_AUTH: the hosted sign-in's password check and lock-out, then the same status handling as SRP. */
async function passwordAuth(ctx: CognitoContext, client: AppClient, p: Record<string, string>): Promise<AuthOutput> {
  const username = p.USERNAME;
  const password = p.PASSWORD;
  if (!username || !password) throw invalidParameter('Missing required parameter USERNAME or PASSWORD');
  await requireSecretHash(ctx.db, ctx.fernet, client, [username], p.SECRET_HASH);
  const migration = ctx.cognito.lazyMigration;
  if (migration) await lazyMigrate({ db: ctx.db, fernet: ctx.fernet, poolName: ctx.cognito.poolName, log: ctx.log }, migration, { username, password, ip: ctx.ip });
  const outcome = await signIn(ctx.db, ctx.auth, { email: username, password, ip: ctx.ip });
  switch (outcome.kind) {
    case 'failed':
      throw notAuthorized(undefined, `sign-in failed: ${outcome.reason}`);
    case 'unconfirmed':
      throw userNotConfirmed();
    case 'reset_required':
      throw resetRequired();
    case 'new_password_required':
    case 'ok':
      // The password was right: make sure SRP can be used next time (users created before verifiers existed).
      await ensureSrpVerifier(ctx.db, ctx.fernet, { userId: outcome.user.id, username: outcome.user.username, password, poolName: ctx.cognito.poolName });
      return afterPasswordProven(ctx, client, outcome.user);
  }
}

/** REFRESH_TOKEN_AUTH: new ID and access tokens in the same family; the refresh token is not rotated (Cognito's default). */
async function refreshAuth(ctx: CognitoContext, client: AppClient, p: Record<string, string>): Promise<AuthOutput> {
  const token = p.REFRESH_TOKEN;
  if (!token) throw invalidParameter('Missing required parameter REFRESH_TOKEN');
  const grant = await findRefreshToken(ctx.db, token);
  const now = Date.now();
  if (!grant || grant.clientId !== client.id || grant.revokedAt !== null || grant.rotatedAt !== null || grant.expiresAt <= now || (await isFamilyRevoked(ctx.db, grant.familyId))) {
    throw notAuthorized('Invalid Refresh Token', grant ? 'refresh token revoked, rotated, expired or of another client' : 'unknown refresh token');
  }
  const user = await findUserById(ctx.db, grant.userId);
  if (!user || !user.enabled || user.status !== 'CONFIRMED') throw notAuthorized(user && !user.enabled ? 'User is disabled.' : 'Invalid Refresh Token');
  await requireSecretHash(ctx.db, ctx.fernet, client, [user.username, user.id, ...(p.USERNAME ? [p.USERNAME] : [])], p.SECRET_HASH);
  const result = await authenticationResult(ctx, {
    user,
    client,
    triggerSource: 'TokenGeneration_RefreshTokens',
    refresh: { familyId: grant.familyId, authTimeMs: grant.authTime, scopes: grant.scopes },
  });
  return { ChallengeParameters: {}, AuthenticationResult: result };
}

const FLOW_OF: Record<string, (typeof AUTH_FLOWS)[number]> = {
  USER_PASSWORD_AUTH: 'USER_PASSWORD_AUTH',
  USER_SRP_AUTH: 'USER_SRP_AUTH',
  REFRESH_TOKEN_AUTH: 'REFRESH_TOKEN_AUTH',
  REFRESH_TOKEN: 'REFRESH_TOKEN_AUTH',
};

/** `InitiateAuth`. */
export const initiateAuth = defineOperation({
  input: z.object({ AuthFlow: z.string().min(1), ClientId: fields.clientId, AuthParameters: params.default({}), ClientMetadata: fields.metadata }),
  run: async (ctx, input) => {
    const flow = FLOW_OF[input.AuthFlow];
    if (!flow) throw invalidParameter(`1 validation error detected: Value '${input.AuthFlow}' at 'authFlow' failed to satisfy constraint: Member must satisfy enum value set: [USER_SRP_AUTH, REFRESH_TOKEN_AUTH, REFRESH_TOKEN, USER_PASSWORD_AUTH]`);
    const client = await cognitoClient(ctx.db, input.ClientId);
    if (!ctx.cognito.authFlows.has(flow)) throw invalidParameter(`${input.AuthFlow} flow not enabled for this client`);
    const p = input.AuthParameters;
    if (flow === 'USER_PASSWORD_AUTH') return passwordAuth(ctx, client, p);
    if (flow === 'REFRESH_TOKEN_AUTH') return refreshAuth(ctx, client, p);
    if (!p.USERNAME || !p.SRP_A) throw invalidParameter('Missing required parameter USERNAME or SRP_A');
    return startSrp(ctx, client, { USERNAME: p.USERNAME, SRP_A: p.SRP_A, SECRET_HASH: p.SECRET_HASH });
  },
});
