import type { z } from 'zod';
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
  tag: 'profile' | 'devices' | 'sharing' | 'authorizer' | 'user management' | 'meta';
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
  Member: { schema: s.memberSchema, io: 'output' },
  MemberList: { schema: s.memberList, io: 'output' },
  Grant: { schema: s.grantBody, io: 'input' },
  DeviceAccessToken: { schema: s.authorizeResponse, io: 'output' },
  AdminUser: { schema: s.adminUserSchema, io: 'output' },
  AdminUserList: { schema: s.adminUserList, io: 'output' },
  CreateUser: { schema: s.createUserBody, io: 'input' },
  CreatedUser: { schema: s.createdUser, io: 'output' },
  UpdateUser: { schema: s.updateUserBody, io: 'input' },
  Problem: { schema: s.problemSchema, io: 'output' },
} as const satisfies Record<string, { schema: z.ZodType; io: 'input' | 'output' }>;

const ok = (description: string, schema?: keyof typeof components): Record<number, ResponseSpec> => ({ 200: schema ? { description, schema } : { description } });

/** The operations of the Client API. */
export const operations: OperationSpec[] = [
  { method: 'get', path: '/api/openapi.json', operationId: 'getOpenApi', summary: 'This document', tag: 'meta', public: true, responses: { 200: { description: 'OpenAPI 3.1 document' } } },
  { method: 'get', path: '/api/users/me', operationId: 'getProfile', summary: 'The caller’s profile (created on the first call)', tag: 'profile', responses: ok('The profile', 'Profile') },
  { method: 'patch', path: '/api/users/me', operationId: 'updateProfile', summary: 'Edit the display name, locale, time zone or picture', tag: 'profile', body: 'ProfilePatch', responses: ok('The updated profile', 'Profile') },
  { method: 'get', path: '/api/devices', operationId: 'listDevices', summary: 'Devices shared with the caller, with role and live connection status', tag: 'devices', query: s.pageQuery, responses: ok('One page of devices', 'DeviceList') },
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
];
