import { Problem } from '../../lib/errors.ts';
import type { ORG_ROLES } from '../../schema/index.ts';
import type { DeviceRole } from '../api/device-roles.ts';

/**
 * Who may do what in an organisation, as pure rules mirroring the device roles (workers/api/device-roles.ts):
 * - member: reads the organisation, its keys and its log, and appends signed records (the signature is the authority);
 * - admin: also renames it, changes its settings and keys, and adds or changes members up to admin;
 * - owner (exactly one, the creator until a transfer): also transfers ownership (`PUT …/members/:userId {role: owner}`,
 *   after which the old owner is admin). Nobody grants above their own role or changes someone stronger.
 */

/** A role a user holds in an organisation. */
export type OrgRole = (typeof ORG_ROLES)[number];

const RANK: Record<OrgRole, number> = { owner: 3, admin: 2, member: 1 };

/** True when `role` is `min` or stronger. */
export const orgAtLeast = (role: OrgRole, min: OrgRole): boolean => RANK[role] >= RANK[min];

const forbidden = (detail: string) => new Problem(403, 'Forbidden', { detail, type: 'urn:gatehouse:problem:org-role' });
const conflict = (detail: string) => new Problem(409, 'Conflict', { detail, type: 'urn:gatehouse:problem:conflict' });

/** 403 unless the caller's role is at least `min`. */
export function requireOrgRole(role: OrgRole, min: OrgRole, action: string): void {
  if (orgAtLeast(role, min)) return;
  const who = min === 'owner' ? 'the owner' : `members with role ${min} or above`;
  throw forbidden(`Only ${who} may ${action}; your role is ${role}.`);
}

/** What a grant does: set a role, or transfer ownership. */
export type OrgGrantPlan = { kind: 'set'; role: Exclude<OrgRole, 'owner'> } | { kind: 'transfer' };

/** Decides `PUT /api/orgs/:orgId/members/:userId` by `actor` giving `target` (holding `current`, if any) the role `wanted`. */
export function planOrgGrant(actor: { id: string; role: OrgRole }, target: { id: string; current: OrgRole | undefined }, wanted: OrgRole): OrgGrantPlan {
  requireOrgRole(actor.role, 'admin', 'manage members');
  if (wanted === 'owner') {
    if (actor.role !== 'owner') throw forbidden('Only the owner may transfer ownership.');
    if (target.id === actor.id) throw conflict('You already own this organisation.');
    return { kind: 'transfer' };
  }
  if (target.current === 'owner') throw conflict('The owner’s role changes only by transferring ownership to someone else.');
  if (!orgAtLeast(actor.role, wanted)) throw forbidden(`You cannot grant ${wanted}, which is above your own role (${actor.role}).`);
  if (target.current && !orgAtLeast(actor.role, target.current)) throw forbidden(`You cannot change the role of a member whose role (${target.current}) is above yours.`);
  return { kind: 'set', role: wanted };
}

/** Decides `DELETE /api/orgs/:orgId/members/:userId`: anyone but the owner may leave; admins remove members not above them. */
export function checkOrgRemoval(actor: { id: string; role: OrgRole }, target: { id: string; role: OrgRole }): void {
  if (target.role === 'owner') throw conflict('The owner cannot be removed; transfer ownership first.');
  if (target.id === actor.id) return;
  requireOrgRole(actor.role, 'admin', 'remove members');
  if (!orgAtLeast(actor.role, target.role)) throw forbidden(`You cannot remove a member whose role (${target.role}) is above yours.`);
}

/**
 * The device role an organisation role gives on the organisation's devices: owner and admin → `admin` (edit and
 * share, but device ownership stays with whoever claimed it), member → `viewer` (sees devices and their status).
 * A direct role on the device, when stronger, wins (`effectiveDeviceRole`).
 */
export const DEVICE_ROLE_FOR_ORG_ROLE: Record<OrgRole, Exclude<DeviceRole, 'owner'>> = { owner: 'admin', admin: 'admin', member: 'viewer' };

const DEVICE_RANK: Record<DeviceRole, number> = { owner: 4, admin: 3, operator: 2, viewer: 1 };

/** The stronger of a direct device role and the role an organisation role maps to; undefined when neither exists. */
export function effectiveDeviceRole(direct: DeviceRole | undefined, orgRole: OrgRole | undefined): DeviceRole | undefined {
  const viaOrg = orgRole ? DEVICE_ROLE_FOR_ORG_ROLE[orgRole] : undefined;
  if (!direct) return viaOrg;
  if (!viaOrg) return direct;
  return DEVICE_RANK[direct] >= DEVICE_RANK[viaOrg] ? direct : viaOrg;
}
