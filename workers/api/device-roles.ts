import { Problem } from '../../lib/errors.ts';
import type { DEVICE_ROLES } from '../../schema/index.ts';

/**
 * Who may do what with a device, as pure rules. Roles are ordered owner > admin > operator > viewer:
 * - viewer: sees the device and its status; operator: also reaches its APIs (the Authorizer) and sees its settings;
 * - admin: also edits it and shares it, granting at most their own role; owner (exactly one, set by claiming): also
 *   deletes it and transfers ownership (`PUT …/users/:userId {role: owner}`, after which the old owner is admin).
 */

/** A role a user holds on a device. */
export type DeviceRole = (typeof DEVICE_ROLES)[number];

const RANK: Record<DeviceRole, number> = { owner: 4, admin: 3, operator: 2, viewer: 1 };

/** True when `role` is `min` or stronger. */
export const atLeast = (role: DeviceRole, min: DeviceRole): boolean => RANK[role] >= RANK[min];

/** 403 unless the caller's role is at least `min`. */
export function requireRole(role: DeviceRole, min: DeviceRole, action: string): void {
  if (!atLeast(role, min)) {
    const who = min === 'owner' ? 'the owner' : `users with role ${min} or above`;
    throw new Problem(403, 'Forbidden', { detail: `Only ${who} may ${action}; your role is ${role}.`, type: 'urn:gatehouse:problem:device-role' });
  }
}

const conflict = (detail: string) => new Problem(409, 'Conflict', { detail, type: 'urn:gatehouse:problem:conflict' });

/** What a grant does: set a role, or transfer ownership. */
export type GrantPlan = { kind: 'set'; role: DeviceRole } | { kind: 'transfer' };

/**
 * Decides a `PUT …/users/:userId` by `actor` (holding `actorRole`) giving `target` (holding `current`, if any) the role
 * `wanted`: admins and owners share; nobody grants above their own role or changes someone stronger; the owner
 * changes only by transfer.
 */
export function planGrant(actor: { id: string; role: DeviceRole }, target: { id: string; current: DeviceRole | undefined }, wanted: DeviceRole): GrantPlan {
  requireRole(actor.role, 'admin', 'share this device');
  if (wanted === 'owner') {
    if (actor.role !== 'owner') throw new Problem(403, 'Forbidden', { detail: 'Only the owner may transfer ownership.', type: 'urn:gatehouse:problem:device-role' });
    if (target.id === actor.id) throw conflict('You already own this device.');
    return { kind: 'transfer' };
  }
  if (target.current === 'owner') throw conflict('The owner’s role changes only by transferring ownership to someone else.');
  if (!atLeast(actor.role, wanted)) {
    throw new Problem(403, 'Forbidden', { detail: `You cannot grant ${wanted}, which is above your own role (${actor.role}).`, type: 'urn:gatehouse:problem:device-role' });
  }
  if (target.current && !atLeast(actor.role, target.current)) {
    throw new Problem(403, 'Forbidden', { detail: `You cannot change the role of a user whose role (${target.current}) is above yours.`, type: 'urn:gatehouse:problem:device-role' });
  }
  return { kind: 'set', role: wanted };
}

/**
 * Decides a `DELETE …/users/:userId`: anyone but the owner may leave; admins and the owner remove users whose role is
 * not above theirs; the owner is never removed (transfer first).
 */
export function checkRemoval(actor: { id: string; role: DeviceRole }, target: { id: string; role: DeviceRole }): void {
  if (target.role === 'owner') throw conflict('The owner cannot be removed; transfer ownership first.');
  if (target.id === actor.id) return;
  requireRole(actor.role, 'admin', 'remove users');
  if (!atLeast(actor.role, target.role)) {
    throw new Problem(403, 'Forbidden', { detail: `You cannot remove a user whose role (${target.role}) is above yours.`, type: 'urn:gatehouse:problem:device-role' });
  }
}
