import { ORG_ROLES } from '../../schema/index.ts';
import { membershipStore, type Membership } from '../membership-store.ts';
import type { OrgRole } from './roles.ts';

/** One member of an organisation, as the API shows them. */
export type OrgMember = Membership<OrgRole>;

/** Organisation members (`org_members`). */
export const {
  list: listOrgMembers,
  find: findOrgMember,
  setRole: setOrgMemberRole,
  transferOwnership: transferOrgOwnership,
  remove: removeOrgMember,
} = membershipStore<OrgRole>({ table: 'org_members', scope: 'org_id', roles: ORG_ROLES, audit: { grant: 'org.grant', transfer: 'org.transfer', remove: 'org.remove_member' } });
