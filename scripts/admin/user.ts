/** `admin user …`: create users with roles and claims, list, show (decrypted claims), change roles, groups, password, state; delete. */
import { readFileSync } from 'node:fs';
import { readUserClaims, setUserRoles } from '../../workers/auth/store/claims-admin.ts';
import {
  createAccount,
  deleteAccount,
  getUser,
  listUsers,
  setUserEnabled,
  setUserGroups,
  setUserPassword,
  type UserSummary,
} from '../../workers/auth/store/user-admin.ts';
import { CliError, fields, flag, int, list, many, str, table, time, type Command, type OptionValues } from './cli.ts';

const summaryLines = (u: UserSummary): [string, string][] => [
  ['email', u.email],
  ['id (sub)', u.id],
  ['status', u.status],
  ['enabled', u.enabled ? 'yes' : 'no'],
  ['email_verified', u.emailVerified ? 'yes' : 'no'],
  ['password', u.hasPassword ? 'set' : 'none'],
  ['groups', u.groups.join(',') || '-'],
  ['created', time(u.createdAt)],
  ['updated', time(u.updatedAt)],
];

/** `--claim x-hasura-name=value`, repeatable. */
function claims(values: OptionValues): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of many(values, 'claim')) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new CliError(`--claim needs NAME=VALUE, not "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** The password from --password or --password-stdin (which keeps it out of the process list and shell history). */
function password(values: OptionValues): string | undefined {
  if (flag(values, 'password-stdin')) {
    if (str(values, 'password') !== undefined) throw new CliError('give --password or --password-stdin, not both');
    return readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  }
  return str(values, 'password');
}

const temporaryLines = (temporary: string | null) =>
  temporary ? ['', `temporary_password: ${temporary}`, '(shown once: the user must choose a new password at the next sign-in)'] : [];

const PASSWORD_OPTIONS = { password: { type: 'string' }, 'password-stdin': { type: 'boolean' } } as const;

/** The `user` command group. */
export const userCommands: Record<string, Command> = {
  create: {
    summary: 'create a user; roles and --claim values are stored as encrypted Hasura claims',
    usage:
      'user create --email EMAIL [--password P | --password-stdin | --temporary-password] [--groups a,b] [--roles user,editor [--default-role user]] [--claim x-hasura-NAME=VALUE]…',
    options: {
      email: { type: 'string' },
      ...PASSWORD_OPTIONS,
      'temporary-password': { type: 'boolean' },
      groups: { type: 'string' },
      roles: { type: 'string' },
      'default-role': { type: 'string' },
      claim: { type: 'string', multiple: true },
    },
    run: async (ctx, values) => {
      const email = str(values, 'email');
      if (email === undefined) throw new CliError('user create needs --email EMAIL');
      const roles = list(values, 'roles') ?? [];
      const extra = claims(values);
      const needsKeys = roles.length > 0 || Object.keys(extra).length > 0;
      const { user, temporaryPassword } = await createAccount(
        ctx.db,
        needsKeys ? ctx.fernet() : ctx.maybeFernet(),
        { email, password: password(values), temporaryPassword: flag(values, 'temporary-password'), groups: list(values, 'groups'), roles, defaultRole: str(values, 'default-role'), claims: extra },
        ctx.by,
      );
      ctx.out.result({ user, temporaryPassword }, () => [...fields(summaryLines(user)), ...temporaryLines(temporaryPassword)]);
    },
  },
  list: {
    summary: 'list users (by email)',
    usage: 'user list [--limit N] [--offset N]',
    options: { limit: { type: 'string' }, offset: { type: 'string' } },
    run: async (ctx, values) => {
      const users = await listUsers(ctx.db, { limit: int(values, 'limit') ?? 100, offset: int(values, 'offset') ?? 0 });
      const rows = users.map((u) => ({
        email: u.email,
        id: u.id,
        status: u.status,
        enabled: u.enabled ? 'yes' : 'no',
        groups: u.groups.join(',') || '-',
        claims: u.hasClaims ? 'yes' : 'no',
        created: time(u.createdAt),
      }));
      ctx.out.result(users, () => table(rows, ['email', 'id', 'status', 'enabled', 'groups', 'claims', 'created']));
    },
  },
  show: {
    summary: 'show a user and their decrypted Hasura claims',
    usage: 'user show EMAIL',
    args: ['EMAIL'],
    run: async (ctx, _values, [email = '']) => {
      const user = await getUser(ctx.db, email);
      const fernet = user.hasClaims ? ctx.fernet() : null;
      const claims = fernet ? await readUserClaims(ctx.db, fernet, user.id) : { state: 'none' as const };
      const claimLines =
        claims.state === 'ok' ? JSON.stringify(claims.claims, null, 2).split('\n') : [claims.state === 'none' ? '(none stored: roles come from groups)' : `(unreadable: ${claims.reason})`];
      ctx.out.result({ user, claims }, () => [...fields(summaryLines(user)), 'claims:', ...claimLines.map((l) => `  ${l}`)]);
    },
  },
  'set-roles': {
    summary: "set a user's Hasura roles, keeping x-hasura-user-id and their other x-hasura-* claims",
    usage: 'user set-roles EMAIL --roles a,b [--default-role a]',
    args: ['EMAIL'],
    options: { roles: { type: 'string' }, 'default-role': { type: 'string' } },
    run: async (ctx, values, [email = '']) => {
      const roles = list(values, 'roles');
      if (!roles?.length) throw new CliError('user set-roles needs --roles a,b');
      const claims = await setUserRoles(ctx.db, ctx.fernet(), email, { roles, defaultRole: str(values, 'default-role') }, ctx.by);
      ctx.out.result({ email: email.toLowerCase(), claims }, () => ['claims:', ...JSON.stringify(claims, null, 2).split('\n').map((l) => `  ${l}`)]);
    },
  },
  'set-groups': {
    summary: "replace a user's groups (--groups '' removes all)",
    usage: 'user set-groups EMAIL --groups a,b',
    args: ['EMAIL'],
    options: { groups: { type: 'string' } },
    run: async (ctx, values, [email = '']) => {
      const groups = list(values, 'groups');
      if (groups === undefined) throw new CliError('user set-groups needs --groups a,b');
      const result = await setUserGroups(ctx.db, email, groups, ctx.by);
      ctx.out.result({ email: email.toLowerCase(), groups: result }, () => [`groups of ${email.toLowerCase()}: ${result.join(',') || '(none)'}`]);
    },
  },
  'set-password': {
    summary: 'set a password (status CONFIRMED) or generate a temporary one, printed once (the default)',
    usage: 'user set-password EMAIL [--password P | --password-stdin | --temporary]',
    args: ['EMAIL'],
    options: { ...PASSWORD_OPTIONS, temporary: { type: 'boolean' } },
    run: async (ctx, values, [email = '']) => {
      const given = password(values);
      if (given !== undefined && flag(values, 'temporary')) throw new CliError('give --password or --temporary, not both');
      const { temporaryPassword } = await setUserPassword(ctx.db, email, given !== undefined ? { password: given } : { temporary: true }, ctx.by);
      ctx.out.result({ email: email.toLowerCase(), temporaryPassword }, () => [`password of ${email.toLowerCase()} set`, ...temporaryLines(temporaryPassword)]);
    },
  },
  disable: {
    summary: 'disable a user and revoke their refresh tokens',
    usage: 'user disable EMAIL',
    args: ['EMAIL'],
    run: async (ctx, _values, [email = '']) => {
      const { user, revokedFamilies } = await setUserEnabled(ctx.db, email, false, ctx.by);
      ctx.out.result({ user, revokedFamilies }, () => [`disabled ${user.email} (${revokedFamilies} token families revoked)`]);
    },
  },
  enable: {
    summary: 'enable a disabled user',
    usage: 'user enable EMAIL',
    args: ['EMAIL'],
    run: async (ctx, _values, [email = '']) => {
      const { user } = await setUserEnabled(ctx.db, email, true, ctx.by);
      ctx.out.result({ user }, () => [`enabled ${user.email}`]);
    },
  },
  delete: {
    summary: 'delete a user with their claims, groups and tokens (token families are revoked first)',
    usage: 'user delete EMAIL',
    args: ['EMAIL'],
    run: async (ctx, _values, [email = '']) => {
      ctx.confirm(`delete user ${email}`);
      const { user, revokedFamilies } = await deleteAccount(ctx.db, email, ctx.by);
      ctx.out.result({ deleted: user.email, id: user.id, revokedFamilies }, () => [`deleted ${user.email} (${user.id}; ${revokedFamilies} token families revoked)`]);
    },
  },
};
