/** `AdminAddUserToGroup`, `AdminRemoveUserFromGroup`, `AdminUserGlobalSignOut`. */
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { groups, userGroups } from '../../../../schema/index.ts';
import { auditEntry } from '../../store/client-admin.ts';
import { revokeUserFamilies } from '../../store/refresh-tokens.ts';
import { revokeUserSessions } from '../../store/sessions.ts';
import { groupsSchema } from '../../store/user-admin.ts';
import { invalidParameter } from '../errors.ts';
import { defineOperation, fields } from '../operation.ts';
import { actor, adminUser, requirePool } from './admin-common.ts';

const membership = z.object({ UserPoolId: fields.userPoolId, Username: fields.username, GroupName: z.string().min(1).max(128) });

/** The group name, checked with the same rule the operator CLI uses (no whitespace or commas). */
function groupName(name: string): string {
  const parsed = groupsSchema.safeParse([name]);
  if (!parsed.success) throw invalidParameter(`Invalid group name: ${name}`);
  return name;
}

/** `AdminAddUserToGroup`; unlike Cognito the group is created when it does not exist yet (there is no CreateGroup here). */
export const adminAddUserToGroup = defineOperation({
  admin: true,
  input: membership,
  run: async (ctx, input) => {
    requirePool(ctx, input.UserPoolId);
    const user = await adminUser(ctx, input.Username);
    const name = groupName(input.GroupName);
    await ctx.db.batch([
      ctx.db.insert(groups).values({ name }).onConflictDoNothing(),
      ctx.db.insert(userGroups).values({ userId: user.id, groupName: name }).onConflictDoNothing(),
      auditEntry(ctx.db, actor(ctx), 'user.add_group', user.id, { group: name, via: 'cognito' }),
    ]);
    return {};
  },
});

/** `AdminRemoveUserFromGroup` (removing a membership the user does not have is not an error, as in Cognito). */
export const adminRemoveUserFromGroup = defineOperation({
  admin: true,
  input: membership,
  run: async (ctx, input) => {
    requirePool(ctx, input.UserPoolId);
    const user = await adminUser(ctx, input.Username);
    await ctx.db.batch([
      ctx.db.delete(userGroups).where(and(eq(userGroups.userId, user.id), eq(userGroups.groupName, input.GroupName))),
      auditEntry(ctx.db, actor(ctx), 'user.remove_group', user.id, { group: input.GroupName, via: 'cognito' }),
    ]);
    return {};
  },
});

/** `AdminUserGlobalSignOut`: every refresh token family and hosted session of the user ends. */
export const adminUserGlobalSignOut = defineOperation({
  admin: true,
  input: z.object({ UserPoolId: fields.userPoolId, Username: fields.username }),
  run: async (ctx, input) => {
    requirePool(ctx, input.UserPoolId);
    const user = await adminUser(ctx, input.Username);
    const revoked = await revokeUserFamilies(ctx.db, user.id, 'signed_out');
    await revokeUserSessions(ctx.db, user.id);
    await auditEntry(ctx.db, actor(ctx), 'user.global_sign_out', user.id, { revokedFamilies: revoked, via: 'cognito' });
    return {};
  },
});
