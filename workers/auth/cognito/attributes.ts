/**
 * User attributes as the Cognito API carries them (`[{Name, Value}]`): `sub`, `email` and `email_verified` come from
 * the user row, everything else (standard OIDC attributes and `custom:*`) from `users.attributes`. Also the UserType
 * that AdminCreateUser and ListUsers return.
 */
import type { User } from '../store/users.ts';
import { invalidParameter } from './errors.ts';

/** One attribute. */
export type AttributeType = { Name: string; Value?: string | undefined };

/** The standard attributes a Cognito pool has besides `sub`, `email` and `email_verified`. */
const STANDARD = new Set([
  'name', 'given_name', 'family_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website',
  'gender', 'birthdate', 'zoneinfo', 'locale', 'phone_number', 'phone_number_verified', 'address', 'updated_at',
]);

/** Whether an attribute name is one a user or admin may write (a standard attribute, `email`, or `custom:*`). */
const isWritable = (name: string) => STANDARD.has(name) || name === 'email' || name === 'email_verified' || /^custom:[\w.-]{1,20}$/.test(name);

/** A user's attributes in Cognito's order: `sub` first, then email, then the rest by name. */
export function attributesOf(user: User): AttributeType[] {
  const rest = Object.entries(user.attributes)
    .filter(([name]) => name !== 'sub' && name !== 'email' && name !== 'email_verified')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([Name, Value]) => ({ Name, Value }));
  return [{ Name: 'sub', Value: user.id }, { Name: 'email', Value: user.email }, { Name: 'email_verified', Value: String(user.emailVerified) }, ...rest];
}

/** Cognito's UserType (AdminCreateUser, ListUsers): times as epoch seconds, which the SDKs read as dates. */
export function userType(user: User, only?: readonly string[]) {
  const attributes = attributesOf(user).filter((a) => !only || only.length === 0 || only.includes(a.Name));
  return {
    Username: user.username,
    Attributes: attributes,
    UserCreateDate: user.createdAt / 1000,
    UserLastModifiedDate: (user.updatedAt ?? user.createdAt) / 1000,
    Enabled: user.enabled,
    UserStatus: user.status,
  };
}

/** What an attribute update changes on the user row. */
export type AttributeChanges = { email?: string; emailVerified?: boolean; attributes: Record<string, string> };

/**
 * Validates attribute updates and merges them into the user's attributes; an empty Value deletes an optional attribute.
 * `sub` is never writable, and `email` only when `allowEmail` (the admin operations).
 */
export function applyAttributes(current: Record<string, string>, updates: readonly AttributeType[], opts: { allowEmail: boolean }): AttributeChanges {
  const attributes = { ...current };
  const changes: AttributeChanges = { attributes };
  for (const { Name, Value } of updates) {
    if (Name === 'sub') throw invalidParameter('Cannot modify an immutable attribute: sub');
    if (!isWritable(Name)) throw invalidParameter(`Attribute does not exist in the schema: ${Name}`);
    if (Name === 'email') {
      if (!opts.allowEmail) throw invalidParameter('Changing email through UpdateUserAttributes is not supported; an administrator can change it.');
      const email = (Value ?? '').trim().toLowerCase();
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw invalidParameter('Invalid email address format.');
      changes.email = email;
    } else if (Name === 'email_verified') {
      if (!opts.allowEmail) throw invalidParameter('Cannot modify email_verified through UpdateUserAttributes.');
      if (Value !== 'true' && Value !== 'false') throw invalidParameter('email_verified must be "true" or "false".');
      changes.emailVerified = Value === 'true';
    } else if (Value === undefined || Value === '') {
      delete attributes[Name];
    } else {
      attributes[Name] = Value;
    }
  }
  return changes;
}
