import { DEVICE_ROLES } from '../../schema/index.ts';
import { membershipStore, type Membership } from '../membership-store.ts';
import type { DeviceRole } from './device-roles.ts';

/** One user's role on a device, as the API shows it. */
export type Member = Membership<DeviceRole>;

/**
 * Users' roles on devices (`device_users`). Removing a role means new authorizations for that user fail from now on;
 * tokens already issued run out (workers/gateway/device-access.ts).
 */
export const {
  list: listMembers,
  find: findMember,
  setRole: setMemberRole,
  transferOwnership,
  remove: removeMember,
} = membershipStore<DeviceRole>({ table: 'device_users', scope: 'device_id', roles: DEVICE_ROLES, audit: { grant: 'device.grant', transfer: 'device.transfer', remove: 'device.revoke_user' } });
