/**
 * Lazy migration from a live Cognito pool: on a password sign-in of a user Gatehouse does not know (or imported without a
 * password, status RESET_REQUIRED), the password is checked with the old pool's InitiateAuth (USER_PASSWORD_AUTH). When
 * the old pool accepts it, the user is created (or completed) here with that password and the old `sub`, and the
 * sign-in then continues locally. Any failure of the old pool leaves the local sign-in to fail as usual.
 */
import { and, eq, isNull } from 'drizzle-orm';
import { decodeJwt } from 'jose';
import { z } from 'zod';
import type { MultiFernet } from '../../../lib/fernet.ts';
import { hashPassword } from '../../../lib/password.ts';
import { auditLog, users } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';
import type { Logger } from '../../middleware/logger.ts';
import { claimsFernet } from '../mint.ts';
import { isIpLocked } from '../store/throttle.ts';
import { createUser, findUserByUsername, normaliseUsername } from '../store/users.ts';
import { secretHash } from './app-client.ts';
import { cognitoConfig, type LazyMigrationConfig } from './config.ts';
import { storeSrpVerifier } from './srp-store.ts';

/** What lazy migration needs: the database, the claims keys, the pool name (for the SRP verifier) and a logger. */
export type MigrationContext = { db: Database; fernet: MultiFernet; poolName: string; log: Logger; fetcher?: typeof fetch };

/** The outcome: `migrated` (the user now has this password locally), `skipped` (not a candidate), `failed` (old pool said no or is down). */
export type MigrationOutcome = 'migrated' | 'skipped' | 'failed';

const authResult = z.object({ AuthenticationResult: z.object({ AccessToken: z.string().min(1), IdToken: z.string().min(1) }) });
const getUserResult = z.object({ Username: z.string(), UserAttributes: z.array(z.object({ Name: z.string(), Value: z.string().optional() })) });

/** Calls one operation of the old pool's Cognito API; undefined on any failure (which is logged by type, never by content). */
async function callOldPool(ctx: MigrationContext, cfg: LazyMigrationConfig, op: string, body: unknown): Promise<unknown> {
  try {
    const res = await (ctx.fetcher ?? fetch)(cfg.endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `AWSCognitoIdentityProviderService.${op}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(cfg.timeoutMs),
    });
    const json: unknown = await res.json().catch(() => undefined);
    if (res.ok) return json;
    const type = json && typeof json === 'object' && '__type' in json ? String(json.__type) : `HTTP ${res.status}`;
    ctx.log.info('lazy migration: old pool refused', { op, type });
  } catch (err) {
    ctx.log.warn('lazy migration: old pool unreachable', { op, error: err instanceof Error ? err.name : 'unknown' });
  }
  return undefined;
}

/** The old pool's view of the user: `sub`, email, attributes and groups, from GetUser with the ID token as fallback. */
async function oldProfile(ctx: MigrationContext, cfg: LazyMigrationConfig, tokens: { AccessToken: string; IdToken: string }) {
  const id = decodeJwt(tokens.IdToken);
  const got = getUserResult.safeParse(await callOldPool(ctx, cfg, 'GetUser', { AccessToken: tokens.AccessToken }));
  const attributes: Record<string, string> = got.success
    ? Object.fromEntries(got.data.UserAttributes.map((a) => [a.Name, a.Value ?? '']))
    : Object.fromEntries(Object.entries(id).filter(([k, v]) => typeof v === 'string' && !['iss', 'aud', 'token_use', 'jti', 'origin_jti', 'event_id'].includes(k) && !k.startsWith('cognito:')) as [string, string][]);
  const groups = Array.isArray(id['cognito:groups']) ? id['cognito:groups'].filter((g): g is string => typeof g === 'string') : [];
  const sub = attributes.sub ?? (typeof id.sub === 'string' ? id.sub : undefined);
  const email = (attributes.email ?? (typeof id.email === 'string' ? id.email : '')).trim().toLowerCase();
  const emailVerified = (attributes.email_verified ?? String(id.email_verified ?? 'false')) === 'true';
  const { sub: _s, email: _e, email_verified: _v, identities: _i, ...rest } = attributes;
  return { sub, email, emailVerified, attributes: rest, groups };
}

/**
 * Tries lazy migration for a password sign-in. Candidates are unknown usernames and users imported without a password;
 * everyone else (and a locked-out IP) is `skipped` so the normal sign-in decides. Never throws for the old pool's sake.
 */
export async function lazyMigrate(ctx: MigrationContext, cfg: LazyMigrationConfig, input: { username: string; password: string; ip: string | undefined }): Promise<MigrationOutcome> {
  const existing = await findUserByUsername(ctx.db, input.username);
  const candidate = !existing || (existing.enabled && existing.status === 'RESET_REQUIRED' && existing.passwordHash === null);
  if (!candidate || !input.password || (input.ip && (await isIpLocked(ctx.db, input.ip)))) return 'skipped';
  const params: Record<string, string> = { USERNAME: input.username, PASSWORD: input.password };
  if (cfg.clientSecret) params.SECRET_HASH = await secretHash(cfg.clientSecret, input.username, cfg.clientId);
  const auth = authResult.safeParse(await callOldPool(ctx, cfg, 'InitiateAuth', { AuthFlow: 'USER_PASSWORD_AUTH', ClientId: cfg.clientId, AuthParameters: params }));
  if (!auth.success) return 'failed';
  const profile = await oldProfile(ctx, cfg, auth.data.AuthenticationResult);
  if (!profile.sub || profile.email !== normaliseUsername(input.username)) {
    ctx.log.warn('lazy migration: old user has no sub, or signs in with a name other than their email', { hasSub: Boolean(profile.sub) });
    return 'failed';
  }
  const now = Date.now();
  if (existing) {
    if (existing.id !== profile.sub) {
      ctx.log.warn('lazy migration: imported user has another sub than the old pool', { userId: existing.id });
      return 'failed';
    }
    const done = await ctx.db
      .update(users)
      .set({ passwordHash: await hashPassword(input.password), status: 'CONFIRMED', emailVerified: profile.emailVerified, updatedAt: now })
      .where(and(eq(users.id, existing.id), eq(users.status, 'RESET_REQUIRED'), isNull(users.passwordHash)))
      .returning({ id: users.id });
    if (done.length === 0) return 'skipped';
  } else {
    try {
      await createUser(ctx.db, ctx.fernet, { id: profile.sub, email: profile.email, password: input.password, status: 'CONFIRMED', emailVerified: profile.emailVerified, attributes: profile.attributes, groups: profile.groups });
    } catch (err) {
      ctx.log.warn('lazy migration: could not create the user', { error: err instanceof Error && err.cause instanceof Error ? err.cause.message : 'insert failed' });
      return 'failed';
    }
  }
  await storeSrpVerifier(ctx.db, ctx.fernet, { userId: profile.sub, username: profile.email, password: input.password, poolName: ctx.poolName });
  await ctx.db.insert(auditLog).values({ actor: 'lazy-migration', action: 'user.lazy_migrate', target: profile.sub, detail: { email: profile.email, imported: Boolean(existing) }, requestId: null });
  ctx.log.info('lazy migration: user migrated', { userId: profile.sub });
  return 'migrated';
}

/** For the hosted sign-in (`POST /login`): runs lazy migration when it is configured, to be called just before `signIn`. */
export async function migrateBeforeSignIn(env: Env, db: Database, log: Logger, input: { username: string; password: string; ip: string | undefined }): Promise<MigrationOutcome> {
  const config = cognitoConfig(env);
  if (!config.lazyMigration) return 'skipped';
  return lazyMigrate({ db, fernet: claimsFernet(env), poolName: config.poolName, log }, config.lazyMigration, input);
}
