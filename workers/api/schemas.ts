import { z } from 'zod';
import { isDeviceId } from '../../lib/pki/ids.ts';
import { DEVICE_ROLES, DEVICE_STATUSES, USER_STATUSES } from '../../schema/index.ts';

/**
 * The Client API's request and response schemas. Routes validate with them (workers/validate.ts) and the OpenAPI
 * document is generated from them (openapi.ts), so the two cannot drift apart.
 */

const isoTime = z.iso.datetime().describe('RFC 3339 time');

// ---- parameters and queries ----

/** `:deviceId`: a device id as enrolment assigns them (a UUID, or an imported URN-safe id). */
export const deviceParams = z.object({ deviceId: z.string().refine(isDeviceId, 'is not a device id') });

/** `:deviceId/users/:userId`. */
export const memberParams = deviceParams.extend({ userId: z.string().min(1).max(128) });

/** `/api/admin/users/:id`. */
export const userParams = z.object({ id: z.string().min(1).max(128) });

/** Keyset pagination: at most `limit` items after the cursor `after`. */
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  after: z.string().min(1).max(256).optional(),
});

// ---- profiles ----

/** The caller's profile. */
export const profileSchema = z.object({
  id: z.string(),
  email: z.string(),
  emailVerified: z.boolean(),
  displayName: z.string(),
  locale: z.string().nullable(),
  zoneinfo: z.string().nullable(),
  picture: z.string().nullable(),
  /** For users who sign in at a trusted external issuer: its URL. */
  federatedIssuer: z.string().nullable(),
  createdAt: isoTime,
  updatedAt: isoTime.nullable(),
});

/** `PATCH /api/users/me`. */
export const profilePatch = z
  .strictObject({
    displayName: z.string().trim().min(1).max(128),
    locale: z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'is not a BCP 47 language tag'),
    zoneinfo: z.string().regex(/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/, 'is not an IANA time zone name').max(64),
    picture: z.url({ protocol: /^https$/, error: 'is not an https URL' }).max(2048),
  })
  .partial()
  .refine((p) => Object.keys(p).length > 0, 'give at least one field to change');

// ---- devices ----

/** A device role, strongest first. */
export const deviceRole = z.enum(DEVICE_ROLES);

/** A device as its users see it, with their role and the live connection state. */
export const deviceSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  serial: z.string().nullable(),
  status: z.enum(DEVICE_STATUSES),
  role: deviceRole,
  connection: z.object({ online: z.boolean(), since: isoTime.nullable(), lastSeen: isoTime.nullable(), agentVersion: z.string().nullable() }),
  /** Settings pushed to the device; shown to operators and above. */
  settings: z.record(z.string(), z.unknown()).nullable().optional(),
  createdAt: isoTime,
});

/** `GET /api/devices`. */
export const deviceList = z.object({ devices: z.array(deviceSchema), next: z.string().nullable().describe('cursor for the next page (`after`)') });

/** `PATCH /api/devices/:deviceId` (admins and the owner). */
export const devicePatch = z
  .strictObject({ name: z.string().trim().min(1).max(128), settings: z.record(z.string(), z.unknown()) })
  .partial()
  .refine((p) => Object.keys(p).length > 0, 'give at least one field to change');

/** One user's role on a device. */
export const memberSchema = z.object({
  userId: z.string(),
  email: z.string(),
  displayName: z.string().nullable(),
  role: deviceRole,
  grantedBy: z.string().nullable(),
  grantedAt: isoTime,
});

/** `GET /api/devices/:deviceId/users`. */
export const memberList = z.object({ users: z.array(memberSchema) });

/** `PUT /api/devices/:deviceId/users/:userId`; `owner` transfers ownership (the current owner becomes admin). */
export const grantBody = z.strictObject({ role: deviceRole });

/** `POST /api/devices/:deviceId/authorize`: a device-access token (JWE) for the device proxy. */
export const authorizeResponse = z.object({ token: z.string(), expiresIn: z.number().int().describe('seconds'), role: deviceRole });

// ---- user management ----

const roleName = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'is not a valid role name');

/** A user as administrators see them (never a password hash). */
export const adminUserSchema = z.object({
  id: z.string(),
  email: z.string(),
  status: z.enum(USER_STATUSES),
  enabled: z.boolean(),
  emailVerified: z.boolean(),
  groups: z.array(z.string()),
  roles: z.array(z.string()).nullable().describe('Hasura allowed roles; null when none are stored'),
  defaultRole: z.string().nullable(),
  createdAt: isoTime,
  updatedAt: isoTime.nullable(),
});

/** `GET /api/admin/users`. */
export const adminUserList = z.object({ users: z.array(adminUserSchema), next: z.string().nullable() });

/** `POST /api/admin/users`: a permanent `password`, or `temporaryPassword: true` for a generated one returned once, or neither (reset required). */
export const createUserBody = z
  .strictObject({
    email: z.email(),
    password: z.string().min(1).max(256).optional(),
    temporaryPassword: z.boolean().optional(),
    roles: z.array(roleName).min(1).max(50).optional().describe('Hasura allowed roles; NEW_USER_ROLES when left out'),
    defaultRole: roleName.optional(),
    groups: z.array(z.string().regex(/^[^\s,]{1,128}$/u)).max(100).optional(),
  })
  .refine((b) => !(b.password !== undefined && b.temporaryPassword), { message: 'give a password or temporaryPassword, not both', path: ['temporaryPassword'] })
  .refine((b) => b.defaultRole === undefined || (b.roles ?? []).includes(b.defaultRole), { message: 'must be one of roles', path: ['defaultRole'] });

/** `POST /api/admin/users` answer: the user, and the temporary password when one was generated (shown once). */
export const createdUser = z.object({ user: adminUserSchema, temporaryPassword: z.string().nullable() });

/** `PUT /api/admin/users/:id`: change roles (rewrites the encrypted claims) and/or enable or disable. */
export const updateUserBody = z
  .strictObject({ roles: z.array(roleName).min(1).max(50), defaultRole: roleName, enabled: z.boolean() })
  .partial()
  .refine((b) => Object.keys(b).length > 0, 'give roles, defaultRole or enabled')
  .refine((b) => b.defaultRole === undefined || b.roles !== undefined, { message: 'give roles with defaultRole', path: ['defaultRole'] })
  .refine((b) => b.defaultRole === undefined || (b.roles ?? []).includes(b.defaultRole), { message: 'must be one of roles', path: ['defaultRole'] });

// ---- errors ----

/** RFC 9457 problem details, as every error of this API is answered. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
