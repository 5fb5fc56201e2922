import { SignJWT, type JWTPayload } from 'jose';
import { eq } from 'drizzle-orm';
import { createMultiFernet, type MultiFernet } from '../../lib/fernet.ts';
import { userClaims, userGroups, userIdentities, users } from '../../schema/index.ts';
import type { Database } from '../db.ts';
import { buildHasuraClaims } from './claims/hasura.ts';
import type { PreTokenTriggerSource } from './claims/pretoken.ts';
import { buildAccessTokenClaims, buildClientCredentialsAccessClaims, buildIdTokenClaims } from './claims/tokens.ts';
import type { AuthConfig } from './config.ts';
import { identitiesClaim, type IdentityLink } from './federation/identities.ts';
import { keyRing, type SigningKey } from './keys.ts';
import { hasPreTokenHook, runPreTokenHook } from './pretoken-hook.ts';
import { issueRefreshToken } from './store/refresh-tokens.ts';
import type { AppClient } from './store/clients.ts';
import type { User } from './store/users.ts';

/** An OAuth token response (RFC 6749 §5.1) with the OIDC ID token. */
export type TokenSet = { access_token: string; id_token?: string; refresh_token?: string; token_type: 'Bearer'; expires_in: number };

/** Everything minting needs from the request context. */
export type MintContext = { env: Env; db: Database; config: AuthConfig };

const fernets = new Map<string, MultiFernet>();

/** The MultiFernet for the `CLAIMS_FERNET_KEYS` secret, built once per isolate. */
export function claimsFernet(env: Env): MultiFernet {
  let f = fernets.get(env.CLAIMS_FERNET_KEYS);
  if (!f) {
    f = createMultiFernet(env.CLAIMS_FERNET_KEYS);
    fernets.set(env.CLAIMS_FERNET_KEYS, f);
  }
  return f;
}

/** Signs a claim set with the ring's first key (RS256, `kid` in the header). */
export const signJwt = (claims: JWTPayload, key: SigningKey): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);

/** A stable `event_id` for a sign-in: derived from its family id, so refreshed tokens carry the sign-in's event. */
async function eventIdOf(familyId: string): Promise<string> {
  const h = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`event:${familyId}`)));
  const hex = [...h.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${((parseInt(hex[16] ?? '0', 16) & 3) | 8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A user with what the built-in pre-token step needs: their groups, the encrypted stored claims and their federated links. */
export type Subject = { user: User; groups: string[]; claimsCiphertext: string | null; identities: IdentityLink[] };

/** Reads a user, their groups, their encrypted claims and their federated links in one D1 round trip (a batch). */
export async function loadSubject(db: Database, userId: string): Promise<Subject | undefined> {
  const [userRows, groupRows, claimRows, identityRows] = await db.batch([
    db.select().from(users).where(eq(users.id, userId)).limit(1),
    db.select({ name: userGroups.groupName }).from(userGroups).where(eq(userGroups.userId, userId)),
    db.select({ ciphertext: userClaims.ciphertext }).from(userClaims).where(eq(userClaims.userId, userId)).limit(1),
    db.select({ provider: userIdentities.provider, subject: userIdentities.subject, createdAt: userIdentities.createdAt }).from(userIdentities).where(eq(userIdentities.userId, userId)),
  ]);
  const user = userRows[0];
  if (!user) return undefined;
  return { user, groups: groupRows.map((g) => g.name).sort(), claimsCiphertext: claimRows[0]?.ciphertext ?? null, identities: identityRows };
}

/** Decrypts the stored Hasura claims (the built-in pre-token step). */
async function storedClaims(env: Env, ciphertext: string | null): Promise<Record<string, unknown> | null> {
  return ciphertext ? (JSON.parse(await claimsFernet(env).decryptText(ciphertext)) as Record<string, unknown>) : null;
}

/**
 * Mints the ID and access tokens (and a refresh token when asked) for a user sign-in or refresh: decrypts the stored
 * claims, builds Cognito-shaped claim sets with the Hasura namespace, runs the external hook if configured, signs.
 * Throws NoRolesError or PreTokenHookFailed, which the caller turns into a sign-in failure.
 */
export async function mintUserTokens(
  ctx: MintContext,
  input: {
    user: User;
    /** The user's groups and claims when the caller already loaded them with `loadSubject`. */
    subject?: Subject;
    client: AppClient;
    scopes: string[];
    nonce?: string | null;
    authTimeMs: number;
    familyId: string;
    triggerSource: PreTokenTriggerSource;
    refresh: 'issue' | 'none';
  },
): Promise<TokenSet> {
  const { user, client, config } = { ...input, config: ctx.config };
  const now = Math.floor(Date.now() / 1000);
  const subject = input.subject ?? (await loadSubject(ctx.db, user.id));
  const [ring, stored, eventId] = await Promise.all([keyRing(ctx.env.JWT_SIGNING_KEYS), storedClaims(ctx.env, subject?.claimsCiphertext ?? null), eventIdOf(input.familyId)]);
  const inputs = { groups: subject?.groups ?? [], stored };
  const hasura = buildHasuraClaims({ userId: user.id, stored: inputs.stored, groups: inputs.groups, groupRoleMap: config.groupRoleMap, defaultRole: config.defaultRole });
  const tokenUser = { sub: user.id, username: user.username, email: user.email, emailVerified: user.emailVerified, groups: inputs.groups };
  const authTime = Math.floor(input.authTimeMs / 1000);
  const base = { user: tokenUser, client: { id: client.id }, issuer: config.issuer, now, authTime, hasura, hasuraFormat: config.hasuraFormat };
  let idClaims: Record<string, unknown> = buildIdTokenClaims({
    ...base,
    ttl: client.idTokenTtl,
    ids: { jti: crypto.randomUUID(), originJti: input.familyId, eventId },
    ...(input.nonce ? { nonce: input.nonce } : {}),
    identities: identitiesClaim(subject?.identities ?? []),
  });
  let accessClaims: Record<string, unknown> = buildAccessTokenClaims({
    ...base,
    ttl: client.accessTokenTtl,
    ids: { jti: crypto.randomUUID(), originJti: input.familyId, eventId },
    scope: input.scopes,
    includeHasuraInAccess: config.hasuraInAccessToken,
  });
  if (hasPreTokenHook(ctx.env, config)) {
    const result = await runPreTokenHook(
      ctx.env,
      config,
      { triggerSource: input.triggerSource, userName: user.username, clientId: client.id, userAttributes: userAttributes(user), groups: inputs.groups, scopes: input.scopes },
      { idClaims, accessClaims, scopes: input.scopes, groups: inputs.groups },
    );
    idClaims = result.idClaims;
    accessClaims = result.accessClaims;
  }
  const [idToken, accessToken] = await Promise.all([signJwt(idClaims, ring.signer), signJwt(accessClaims, ring.signer)]);
  const set: TokenSet = { id_token: idToken, access_token: accessToken, token_type: 'Bearer', expires_in: client.accessTokenTtl };
  if (input.refresh === 'issue') {
    set.refresh_token = await issueRefreshToken(ctx.db, {
      familyId: input.familyId,
      clientId: client.id,
      userId: user.id,
      scopes: input.scopes,
      authTime: input.authTimeMs,
      originJti: input.familyId,
      ttlSeconds: client.refreshTokenTtl,
    });
  }
  return set;
}

/** Cognito's `request.userAttributes`: the standard attributes as strings, plus the stored custom ones. */
export function userAttributes(user: User): Record<string, string> {
  return {
    sub: user.id,
    email: user.email,
    email_verified: String(user.emailVerified),
    'cognito:user_status': user.status,
    ...user.attributes,
  };
}

/** Mints a client_credentials access token (no user, no ID or refresh token). */
export async function mintClientToken(ctx: MintContext, client: AppClient, scopes: string[]): Promise<TokenSet> {
  const ring = await keyRing(ctx.env.JWT_SIGNING_KEYS);
  const claims = buildClientCredentialsAccessClaims({
    client: { id: client.id },
    issuer: ctx.config.issuer,
    now: Math.floor(Date.now() / 1000),
    ttl: client.accessTokenTtl,
    jti: crypto.randomUUID(),
    scope: scopes,
    hasuraFormat: ctx.config.hasuraFormat,
  });
  return { access_token: await signJwt(claims, ring.signer), token_type: 'Bearer', expires_in: client.accessTokenTtl };
}
