/**
 * Hasura claims (https://hasura.io/docs/latest/auth/authentication/jwt/): the `https://hasura.io/jwt/claims` object with
 * `x-hasura-user-id`, `x-hasura-default-role`, `x-hasura-allowed-roles` and any other `x-hasura-*` session variable.
 *
 * Two sources, in Moped's order of precedence:
 * 1. the user's stored claims (decrypted from D1; imported unchanged from the Moped DynamoDB table), which win;
 * 2. otherwise the user's groups, mapped to roles through the configured group → role map.
 */
import { NoRolesError } from './errors.ts';

/** The JWT claim Hasura reads its session variables from. */
export const HASURA_NAMESPACE = 'https://hasura.io/jwt/claims';

/** Hasura's `claims_format`: a JSON string inside the JWT (what Moped uses) or a plain JSON object. */
export type HasuraClaimsFormat = 'stringified_json' | 'json';

/** The Hasura claims object; every session variable is a string except the allowed roles. */
export type HasuraClaims = {
  readonly 'x-hasura-user-id': string;
  readonly 'x-hasura-default-role': string;
  readonly 'x-hasura-allowed-roles': readonly string[];
  readonly [variable: `x-hasura-${string}`]: string | readonly string[];
};

/** What `buildHasuraClaims` needs: the user, their stored claims (or null), their groups and the role configuration. */
export interface HasuraClaimsInput {
  readonly userId: string;
  readonly stored: Readonly<Record<string, unknown>> | null;
  readonly groups: readonly string[];
  readonly groupRoleMap: Readonly<Record<string, string>>;
  readonly defaultRole?: string;
}

const PREFIX = 'x-hasura-';
const USER_ID = 'x-hasura-user-id';
const DEFAULT_ROLE = 'x-hasura-default-role';
const ALLOWED_ROLES = 'x-hasura-allowed-roles';

const unique = (values: readonly string[]): string[] => [...new Set(values.filter((value) => value.length > 0))];

/**
 * Hasura session variables are strings. Arrays use Postgres array literal syntax (Hasura's documented form for
 * array-valued session variables, e.g. `{"1","2"}`), objects become JSON, null and undefined are left out.
 */
function toSessionValue(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) {
    const items = value.map((item) => toSessionValue(item) ?? 'NULL');
    return `{${items.map((item) => `"${item.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Stored allowed roles: an array (of anything stringifiable) or a single role given as a plain value. */
function toRoles(value: unknown): string[] {
  const items: readonly unknown[] = Array.isArray(value) ? value : [value];
  return unique(items.flatMap((item) => (Array.isArray(item) ? [] : [toSessionValue(item) ?? ''])));
}

/** Stored claims with `x-hasura-*` keys lower-cased, since Hasura treats session variable names case-insensitively. */
function hasuraEntries(stored: Readonly<Record<string, unknown>>): Map<string, unknown> {
  const entries = new Map<string, unknown>();
  for (const [key, value] of Object.entries(stored)) {
    const name = key.toLowerCase();
    if (name.startsWith(PREFIX) && name.length > PREFIX.length) entries.set(name, value);
  }
  return entries;
}

/**
 * Builds the Hasura claims for a sign-in; throws `NoRolesError` when no role results, because a token without roles
 * would fail at Hasura in a far less understandable way.
 */
export function buildHasuraClaims(input: HasuraClaimsInput): HasuraClaims {
  const stored = input.stored ? hasuraEntries(input.stored) : new Map<string, unknown>();
  const groupRoles = unique(input.groups.flatMap((group) => {
    const role = input.groupRoleMap[group];
    return role === undefined ? [] : [role];
  }));
  // Stored allowed roles win even when empty: an administrator who removed every role must not see groups re-add them.
  const allowedRoles = stored.has(ALLOWED_ROLES) ? toRoles(stored.get(ALLOWED_ROLES)) : groupRoles;
  if (allowedRoles.length === 0) throw new NoRolesError(input.userId);

  const storedDefault = toSessionValue(stored.get(DEFAULT_ROLE));
  const configuredDefault = input.defaultRole !== undefined && allowedRoles.includes(input.defaultRole) ? input.defaultRole : undefined;
  const defaultRole = storedDefault || configuredDefault || allowedRoles[0] || '';
  const userId = toSessionValue(stored.get(USER_ID)) || input.userId;

  const extras: Record<`x-hasura-${string}`, string> = {};
  for (const [name, value] of stored) {
    if (name === USER_ID || name === DEFAULT_ROLE || name === ALLOWED_ROLES) continue;
    const text = toSessionValue(value);
    if (text !== undefined) extras[name as `x-hasura-${string}`] = text;
  }
  return { [USER_ID]: userId, [DEFAULT_ROLE]: defaultRole, [ALLOWED_ROLES]: allowedRoles, ...extras };
}

/** Encodes the claims as Hasura's `claims_format` expects: a JSON string (`stringified_json`) or the object itself. */
export function encodeHasuraClaims(claims: HasuraClaims, format: 'stringified_json'): string;
export function encodeHasuraClaims(claims: HasuraClaims, format: 'json'): HasuraClaims;
export function encodeHasuraClaims(claims: HasuraClaims, format: HasuraClaimsFormat): string | HasuraClaims;
export function encodeHasuraClaims(claims: HasuraClaims, format: HasuraClaimsFormat): string | HasuraClaims {
  if (format === 'stringified_json') return JSON.stringify(claims);
  // A copy, so later claim edits (e.g. by the pre-token step) never reach the caller's object.
  return { ...claims, [ALLOWED_ROLES]: [...claims[ALLOWED_ROLES]] };
}
