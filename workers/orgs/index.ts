import { Hono } from 'hono';
import { protectOrgs, type OrgEnv } from './caller.ts';
import { clientRoutes } from './clients.ts';
import { keyRoutes } from './keys.ts';
import { orgRoutes } from './orgs.ts';
import { recordRoutes } from './records.ts';
import { streamRoutes } from './stream.ts';

export { assignDeviceToOrg, orgOfDevice, orgRoleOnDevice, type AssignOutcome } from './device-store.ts';
export { DEVICE_ROLE_FOR_ORG_ROLE, effectiveDeviceRole } from './roles.ts';

/**
 * Organisations and their data plane (`/api/orgs…`, mounted at `/api/orgs` by workers/api/index.ts): organisations
 * and members, bound app clients, public keys, the records log with cursor paging, and its live stream. Behind the
 * Client API's front door (rate limits, bearer token, user row), which here also admits a bound app client's
 * client_credentials token (caller.ts). See ARCHITECTURE.md, "End-to-end encrypted data and the connector".
 */
export const orgs = new Hono<OrgEnv>().use(protectOrgs()).route('/', orgRoutes).route('/', clientRoutes).route('/', keyRoutes).route('/', recordRoutes).route('/', streamRoutes);
