import type { z } from 'zod';
import { recordPage } from '../../lib/records/view.ts';
import { claimBody } from '../devices/claim.ts';
import * as o from '../orgs/schemas.ts';
import * as s from './schemas.ts';

/**
 * Every operation of `/api`, described with the same zod schemas the routes validate with. openapi.ts turns this table
 * into the OpenAPI document, and test/api-openapi.test.ts checks that it lists exactly the routes the `api` app has.
 */

/** A response of an operation: a description and, unless empty, a body schema. */
export type ResponseSpec = { description: string; schema?: keyof typeof components };

/** One operation, keyed by Hono-style path (`/api/devices/:deviceId`). */
export type OperationSpec = {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  operationId: string;
  summary: string;
  tag: 'profile' | 'devices' | 'sharing' | 'authorizer' | 'user management' | 'organisations' | 'records' | 'meta';
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: keyof typeof components;
  responses: Record<number, ResponseSpec>;
  /** The error statuses this operation documents beyond 400/401/429/500, which every protected one has. */
  errors?: number[];
  public?: boolean;
};

/** Named schemas, published under `components.schemas`; request bodies as input, responses as output. */
export const components = {
  Profile: { schema: s.profileSchema, io: 'output' },
  ProfilePatch: { schema: s.profilePatch, io: 'input' },
  Device: { schema: s.deviceSchema, io: 'output' },
  DeviceList: { schema: s.deviceList, io: 'output' },
  DevicePatch: { schema: s.devicePatch, io: 'input' },
  ClaimDevice: { schema: claimBody, io: 'input' },
  Member: { schema: s.memberSchema, io: 'output' },
  MemberList: { schema: s.memberList, io: 'output' },
  Grant: { schema: s.grantBody, io: 'input' },
  DeviceAccessToken: { schema: s.authorizeResponse, io: 'output' },
  AdminUser: { schema: s.adminUserSchema, io: 'output' },
  AdminUserList: { schema: s.adminUserList, io: 'output' },
  CreateUser: { schema: s.createUserBody, io: 'input' },
  CreatedUser: { schema: s.createdUser, io: 'output' },
  UpdateUser: { schema: s.updateUserBody, io: 'input' },
  Org: { schema: o.orgSchema, io: 'output' },
  OrgList: { schema: o.orgList, io: 'output' },
  CreateOrg: { schema: o.createOrgBody, io: 'input' },
  OrgPatch: { schema: o.orgPatch, io: 'input' },
  OrgMember: { schema: o.orgMemberSchema, io: 'output' },
  OrgMemberList: { schema: o.orgMemberList, io: 'output' },
  CreateOrgClient: { schema: o.createOrgClientBody, io: 'input' },
  CreatedOrgClient: { schema: o.createdOrgClient, io: 'output' },
  OrgClientList: { schema: o.orgClientList, io: 'output' },
  OrgGrant: { schema: o.orgGrantBody, io: 'input' },
  OrgKeys: { schema: o.orgKeys, io: 'output' },
  PutOrgKeys: { schema: o.putKeysBody, io: 'input' },
  RecordPage: { schema: recordPage, io: 'output' },
  AppendRecord: { schema: o.appendRecordBody, io: 'input' },
  AppendedRecord: { schema: o.appendRecordResponse, io: 'output' },
  Problem: { schema: s.problemSchema, io: 'output' },
} as const satisfies Record<string, { schema: z.ZodType; io: 'input' | 'output' }>;

const ok = (description: string, schema?: keyof typeof components): Record<number, ResponseSpec> => ({ 200: schema ? { description, schema } : { description } });

/** The operations of the Client API. */
export const operations: OperationSpec[] = [
  { method: 'get', path: '/api/openapi.json', operationId: 'getOpenApi', summary: 'This document', tag: 'meta', public: true, responses: { 200: { description: 'OpenAPI 3.1 document' } } },
  { method: 'get', path: '/api/users/me', operationId: 'getProfile', summary: 'The caller’s profile (created on the first call)', tag: 'profile', responses: ok('The profile', 'Profile') },
  { method: 'patch', path: '/api/users/me', operationId: 'updateProfile', summary: 'Edit the display name, locale, time zone or picture', tag: 'profile', body: 'ProfilePatch', responses: ok('The updated profile', 'Profile') },
  { method: 'get', path: '/api/devices', operationId: 'listDevices', summary: 'Devices shared with the caller, with role and live connection status', tag: 'devices', query: s.pageQuery, responses: ok('One page of devices', 'DeviceList') },
  {
    method: 'post', path: '/api/devices/claim', operationId: 'claimDevice', summary: 'Claim an online, unclaimed device with the code it shows; the caller becomes its owner (one generic 400 for any bad code)', tag: 'devices',
    body: 'ClaimDevice', responses: ok('The claimed device', 'Device'), errors: [503],
  },
  { method: 'get', path: '/api/devices/:deviceId', operationId: 'getDevice', summary: 'One device (any role; settings for operators and above)', tag: 'devices', params: s.deviceParams, responses: ok('The device', 'Device'), errors: [404] },
  { method: 'patch', path: '/api/devices/:deviceId', operationId: 'updateDevice', summary: 'Rename a device or replace its settings (admin, owner)', tag: 'devices', params: s.deviceParams, body: 'DevicePatch', responses: ok('The device', 'Device'), errors: [403, 404] },
  { method: 'delete', path: '/api/devices/:deviceId', operationId: 'deleteDevice', summary: 'Delete a device (owner): releases ownership and revokes its certificates', tag: 'devices', params: s.deviceParams, responses: { 204: { description: 'Deleted' } }, errors: [403, 404] },
  { method: 'get', path: '/api/devices/:deviceId/users', operationId: 'listDeviceUsers', summary: 'Who holds which role on a device (admin, owner)', tag: 'sharing', params: s.deviceParams, responses: ok('The users', 'MemberList'), errors: [403, 404] },
  {
    method: 'put', path: '/api/devices/:deviceId/users/:userId', operationId: 'grantDeviceRole', summary: 'Grant or change a role, at most your own; role owner transfers ownership (the owner becomes admin)', tag: 'sharing',
    params: s.memberParams, body: 'Grant', responses: { 200: { description: 'Role changed', schema: 'Member' }, 201: { description: 'Role granted', schema: 'Member' } }, errors: [403, 404, 409],
  },
  { method: 'delete', path: '/api/devices/:deviceId/users/:userId', operationId: 'revokeDeviceRole', summary: 'Remove a user’s role (or leave); the owner cannot be removed', tag: 'sharing', params: s.memberParams, responses: { 204: { description: 'Removed' } }, errors: [403, 404, 409] },
  {
    method: 'post', path: '/api/devices/:deviceId/authorize', operationId: 'authorizeDevice', summary: 'A short-lived device-access token (JWE) for the device proxy (operator and above)', tag: 'authorizer',
    params: s.deviceParams, responses: ok('The token and its lifetime', 'DeviceAccessToken'), errors: [403, 404, 409],
  },
  { method: 'get', path: '/api/admin/users', operationId: 'listUsers', summary: 'Users, by email (admin role)', tag: 'user management', query: s.pageQuery, responses: ok('One page of users', 'AdminUserList'), errors: [403] },
  { method: 'post', path: '/api/admin/users', operationId: 'createUser', summary: 'Create a user with a password or a temporary one, and Hasura roles (admin role)', tag: 'user management', body: 'CreateUser', responses: { 201: { description: 'Created', schema: 'CreatedUser' } }, errors: [403, 409] },
  { method: 'get', path: '/api/admin/users/:id', operationId: 'getUser', summary: 'One user (admin role)', tag: 'user management', params: s.userParams, responses: ok('The user', 'AdminUser'), errors: [403, 404] },
  { method: 'put', path: '/api/admin/users/:id', operationId: 'updateUser', summary: 'Change roles (rewrites the encrypted claims), enable or disable (admin role)', tag: 'user management', params: s.userParams, body: 'UpdateUser', responses: ok('The user', 'AdminUser'), errors: [403, 404, 409] },
  { method: 'delete', path: '/api/admin/users/:id', operationId: 'deleteUser', summary: 'Delete a user: login, claims, federated links; sessions revoked; audit kept (admin role)', tag: 'user management', params: s.userParams, responses: { 204: { description: 'Deleted' } }, errors: [403, 404, 409] },
  { method: 'get', path: '/api/devices/:deviceId/events', operationId: 'listDeviceEvents', summary: 'Plain-JSON events of a device that belongs to no organisation, oldest first after a cursor (any role)', tag: 'devices', params: s.deviceParams, query: o.recordsQuery, responses: ok('One page of events', 'RecordPage'), errors: [404] },
  { method: 'post', path: '/api/orgs', operationId: 'createOrg', summary: 'Create an organisation; the caller becomes its owner', tag: 'organisations', body: 'CreateOrg', responses: { 201: { description: 'Created', schema: 'Org' } } },
  { method: 'get', path: '/api/orgs', operationId: 'listOrgs', summary: 'Organisations the caller belongs to, with their role', tag: 'organisations', query: o.orgPageQuery, responses: ok('One page of organisations', 'OrgList') },
  { method: 'get', path: '/api/orgs/:orgId', operationId: 'getOrg', summary: 'One organisation with its public keys (members)', tag: 'organisations', params: o.orgParams, responses: ok('The organisation', 'Org'), errors: [404] },
  { method: 'patch', path: '/api/orgs/:orgId', operationId: 'updateOrg', summary: 'Rename an organisation or replace its device settings (admin, owner)', tag: 'organisations', params: o.orgParams, body: 'OrgPatch', responses: ok('The organisation', 'Org'), errors: [403, 404] },
  { method: 'get', path: '/api/orgs/:orgId/members', operationId: 'listOrgMembers', summary: 'Members and their roles (members)', tag: 'organisations', params: o.orgParams, responses: ok('The members', 'OrgMemberList'), errors: [404] },
  {
    method: 'put', path: '/api/orgs/:orgId/members/:userId', operationId: 'grantOrgRole', summary: 'Add a member or change a role, at most your own; role owner transfers ownership (the owner becomes admin)', tag: 'organisations',
    params: o.orgMemberParams, body: 'OrgGrant', responses: { 200: { description: 'Role changed', schema: 'OrgMember' }, 201: { description: 'Member added', schema: 'OrgMember' } }, errors: [403, 404, 409],
  },
  { method: 'delete', path: '/api/orgs/:orgId/members/:userId', operationId: 'removeOrgMember', summary: 'Remove a member (or leave); the owner cannot be removed; their streams are closed', tag: 'organisations', params: o.orgMemberParams, responses: { 204: { description: 'Removed' } }, errors: [403, 404, 409] },
  { method: 'post', path: '/api/orgs/:orgId/clients', operationId: 'createOrgClient', summary: 'Create an app client bound to the organisation (client_credentials only, role member by default, at most your own); its secret is shown once (admin, owner)', tag: 'organisations', params: o.orgParams, body: 'CreateOrgClient', responses: { 201: { description: 'Created', schema: 'CreatedOrgClient' } }, errors: [403, 404] },
  { method: 'get', path: '/api/orgs/:orgId/clients', operationId: 'listOrgClients', summary: 'The organisation’s app clients, without secrets (admin, owner)', tag: 'organisations', params: o.orgParams, responses: ok('The clients', 'OrgClientList'), errors: [403, 404] },
  { method: 'delete', path: '/api/orgs/:orgId/clients/:clientId', operationId: 'deleteOrgClient', summary: 'Revoke an app client: it is deleted, its tokens are refused and its record streams closed (admin, owner)', tag: 'organisations', params: o.orgClientParams, responses: { 204: { description: 'Revoked' } }, errors: [403, 404] },
  { method: 'put', path: '/api/orgs/:orgId/keys', operationId: 'putOrgKeys', summary: 'Register the PUBLIC encryption (EC P-256) and/or signing (Ed25519, P-256) key; the previous key of each use is retired, never deleted (admin, owner)', tag: 'organisations', params: o.orgParams, body: 'PutOrgKeys', responses: ok('Every key of the organisation', 'OrgKeys'), errors: [403, 404, 409] },
  { method: 'get', path: '/api/orgs/:orgId/records', operationId: 'listRecords', summary: 'The organisation’s log (device events and signed records), oldest first after an opaque cursor (members)', tag: 'records', params: o.orgParams, query: o.recordsQuery, responses: ok('One page of the log', 'RecordPage'), errors: [404] },
  {
    method: 'post', path: '/api/orgs/:orgId/records', operationId: 'appendRecord', summary: 'Append a record signed with the organisation’s active signing key (detached JWS over the canonical record); idempotent by id (members)', tag: 'records',
    params: o.orgParams, body: 'AppendRecord', responses: { 200: { description: 'Already in the log (same id and signature)', schema: 'AppendedRecord' }, 201: { description: 'Appended', schema: 'AppendedRecord' } }, errors: [404, 409, 413, 422],
  },
  { method: 'get', path: '/api/orgs/:orgId/records/stream', operationId: 'streamRecords', summary: 'WebSocket: replays the log after the cursor, sends caught_up, then pushes new entries live (members)', tag: 'records', params: o.orgParams, query: o.streamQuery, responses: { 101: { description: 'Switching to a WebSocket; frames are JSON (record, caught_up, pong, error)' } }, errors: [404, 426] },
];
