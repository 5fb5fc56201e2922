/** `GetUser`, `UpdateUserAttributes`, `GlobalSignOut`, `RevokeToken`: what a signed-in user does with their own tokens. */
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { sha256Hex, timingSafeEqual } from '../../../../lib/encoding.ts';
import { users } from '../../../../schema/index.ts';
import { findRefreshToken, revokeFamily, revokeUserFamilies } from '../../store/refresh-tokens.ts';
import { revokeUserSessions } from '../../store/sessions.ts';
import { cognitoClient } from '../app-client.ts';
import { applyAttributes, attributesOf } from '../attributes.ts';
import { CognitoError, notAuthorized } from '../errors.ts';
import { defineOperation, fields } from '../operation.ts';
import { requireAccessToken } from '../tokens.ts';

/** How long a revoked family is remembered when the token's own expiry is unknown: past any refresh token's life. */
const FAMILY_MEMORY_MS = 3650 * 86_400_000;

/** `GetUser`. */
export const getUser = defineOperation({
  input: z.object({ AccessToken: fields.token }),
  run: async (ctx, input) => {
    const { user } = await requireAccessToken(ctx, input.AccessToken);
    return { Username: user.username, UserAttributes: attributesOf(user), MFAOptions: [], UserMFASettingList: [] };
  },
});

/** `UpdateUserAttributes`: any standard or `custom:*` attribute except `sub`, `email` and `email_verified`. */
export const updateUserAttributes = defineOperation({
  input: z.object({ AccessToken: fields.token, UserAttributes: fields.attributes, ClientMetadata: fields.metadata }),
  run: async (ctx, input) => {
    const { user } = await requireAccessToken(ctx, input.AccessToken);
    const changes = applyAttributes(user.attributes, input.UserAttributes, { allowEmail: false });
    await ctx.db.update(users).set({ attributes: changes.attributes, updatedAt: Date.now() }).where(eq(users.id, user.id));
    return { CodeDeliveryDetailsList: [] };
  },
});

/** `GlobalSignOut`: revokes every refresh token family of the user (and this token's own family) and the hosted sessions. */
export const globalSignOut = defineOperation({
  input: z.object({ AccessToken: fields.token }),
  run: async (ctx, input) => {
    const { user, familyId } = await requireAccessToken(ctx, input.AccessToken);
    await revokeUserFamilies(ctx.db, user.id, 'signed_out');
    if (familyId) await revokeFamily(ctx.db, familyId, 'signed_out', Date.now() + FAMILY_MEMORY_MS);
    await revokeUserSessions(ctx.db, user.id);
    ctx.log.info('cognito global sign-out', { userId: user.id });
    return {};
  },
});

/** `RevokeToken`: revokes a refresh token's family (its ID and access tokens stop working too); unknown tokens are ignored. */
export const revokeToken = defineOperation({
  input: z.object({ Token: fields.token, ClientId: fields.clientId, ClientSecret: z.string().min(1).max(256).optional() }),
  run: async (ctx, input) => {
    const client = await cognitoClient(ctx.db, input.ClientId);
    if (client.secretHash !== null) {
      if (!input.ClientSecret || !timingSafeEqual(await sha256Hex(input.ClientSecret), client.secretHash)) throw notAuthorized(`Unable to verify client secret for client ${client.id}`);
    }
    if (input.Token.split('.').length === 3) throw new CognitoError('UnsupportedTokenTypeException', 'Only refresh tokens can be revoked.');
    const grant = await findRefreshToken(ctx.db, input.Token);
    if (grant && grant.clientId !== client.id) throw new CognitoError('UnauthorizedException', 'The token was issued to another client.');
    if (grant) await revokeFamily(ctx.db, grant.familyId, 'revoked', grant.expiresAt);
    return {};
  },
});
