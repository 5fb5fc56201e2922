import { z } from 'zod';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MAX_PAYLOAD_BYTES } from '../../lib/records/limits.ts';
import { recordId, recordTime, recordType } from '../../lib/records/event.ts';
import { checkPublicJwk, type KeyUse } from '../../lib/records/jwk.ts';
import { recordView } from '../../lib/records/view.ts';
import { ORG_CLIENT_ROLES, ORG_KEY_STATUSES, ORG_KEY_USES, ORG_ROLES } from '../../schema/index.ts';

/**
 * The request and response schemas of `/api/orgs…`. Routes validate with them and the OpenAPI document is generated
 * from them (workers/api/openapi-operations.ts), as for the rest of the Client API.
 */

const isoTime = z.iso.datetime().describe('RFC 3339 time');
const orgId = z.uuid({ error: 'is not an organisation id' });

/** `:orgId`. */
export const orgParams = z.object({ orgId });

/** `:orgId/members/:userId`. */
export const orgMemberParams = orgParams.extend({ userId: z.string().min(1).max(128) });

/** An organisation role, strongest first. */
export const orgRole = z.enum(ORG_ROLES);

const settings = z.record(z.string(), z.unknown()).refine((s) => JSON.stringify(s).length <= 16_384, 'must be at most 16 KiB of JSON');

/** `POST /api/orgs`: the caller becomes its owner. */
export const createOrgBody = z.strictObject({ name: z.string().trim().min(1).max(128), settings: settings.optional() });

/** `PATCH /api/orgs/:orgId` (admin, owner). */
export const orgPatch = z
  .strictObject({ name: z.string().trim().min(1).max(128), settings })
  .partial()
  .refine((p) => Object.keys(p).length > 0, 'give at least one field to change');

/** A registered public key. */
export const orgKeySchema = z.object({
  kid: z.string(),
  use: z.enum(ORG_KEY_USES),
  status: z.enum(ORG_KEY_STATUSES),
  jwk: z.record(z.string(), z.unknown()).describe('the public JWK'),
  createdAt: isoTime,
  retiredAt: isoTime.nullable(),
});

/** An organisation's keys, newest first; exactly one of each use is `active` once registered. */
export const orgKeys = z.object({ encryption: z.array(orgKeySchema), signing: z.array(orgKeySchema) });

/** An organisation as a member sees it, with the caller's role (and, on the single-organisation read, its public keys). */
export const orgSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: orgRole,
  settings: z.record(z.string(), z.unknown()).nullable(),
  createdAt: isoTime,
  updatedAt: isoTime.nullable(),
  keys: orgKeys.optional(),
});

/** `GET /api/orgs`. */
export const orgList = z.object({ orgs: z.array(orgSchema), next: z.string().nullable().describe('cursor for the next page (`after`)') });

/** `GET /api/orgs` paging. */
export const orgPageQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), after: orgId.optional() });

/** One member of an organisation. */
export const orgMemberSchema = z.object({
  userId: z.string(),
  email: z.string(),
  displayName: z.string().nullable(),
  role: orgRole,
  grantedBy: z.string().nullable(),
  grantedAt: isoTime,
});

/** `GET /api/orgs/:orgId/members`. */
export const orgMemberList = z.object({ members: z.array(orgMemberSchema) });

/** `PUT /api/orgs/:orgId/members/:userId`; `owner` transfers ownership. */
export const orgGrantBody = z.strictObject({ role: orgRole });

/** `:orgId/clients/:clientId`. */
export const orgClientParams = orgParams.extend({ clientId: z.string().min(1).max(128) });

/** `POST /api/orgs/:orgId/clients` (admin, owner): a client_credentials app client bound to the organisation. */
export const createOrgClientBody = z.strictObject({
  name: z.string().trim().min(1).max(128),
  role: z.enum(ORG_CLIENT_ROLES).default('member').describe('what its tokens may do in the organisation; at most your own role'),
});

/** An app client bound to an organisation (never its secret). */
export const orgClientSchema = z.object({
  clientId: z.string(),
  name: z.string(),
  role: z.enum(ORG_CLIENT_ROLES),
  createdBy: z.string().nullable(),
  createdAt: isoTime,
});

/** `GET /api/orgs/:orgId/clients`. */
export const orgClientList = z.object({ clients: z.array(orgClientSchema) });

/** `POST /api/orgs/:orgId/clients` answer: the client and its secret, shown this once. */
export const createdOrgClient = orgClientSchema.extend({
  clientSecret: z.string().describe('shown only in this answer; stored as SHA-256'),
  tokenEndpoint: z.string().describe('where the client gets tokens with grant_type=client_credentials'),
});

const publicKey = (use: KeyUse) =>
  z.record(z.string(), z.unknown()).superRefine((jwk, ctx) => {
    const checked = checkPublicJwk(jwk, use);
    if (!checked.ok) for (const issue of checked.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path ? [issue.path] : [] });
  });

/** `PUT /api/orgs/:orgId/keys`: the public encryption key (EC P-256) and/or signing key (OKP Ed25519 or EC P-256), each a JWK with `kid`. */
export const putKeysBody = z
  .strictObject({ encryptionKey: publicKey('enc').optional(), signingKey: publicKey('sig').optional() })
  .refine((b) => b.encryptionKey !== undefined || b.signingKey !== undefined, 'give encryptionKey, signingKey or both');

/** `GET /api/orgs/:orgId/records` and `/records/stream`. */
export const recordsQuery = z.object({
  after: z.string().min(1).max(64).optional().describe('a cursor from an earlier page or stream frame; omit to start at the beginning'),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE),
});

/** `GET /api/orgs/:orgId/records/stream`. */
export const streamQuery = recordsQuery.pick({ after: true });

/** `POST /api/orgs/:orgId/records`: a record and its detached JWS over the canonical `{id, orgId, type, time, payload}`. */
export const appendRecordBody = z.strictObject({
  id: recordId,
  type: recordType,
  time: recordTime,
  // Any JSON value (the body was parsed from JSON); z.json() would give the OpenAPI document a $ref it cannot resolve.
  payload: z
    .unknown()
    .refine((p) => p !== undefined, 'is required')
    .refine((p) => new TextEncoder().encode(JSON.stringify(p) ?? '').length <= MAX_PAYLOAD_BYTES, `must be at most ${MAX_PAYLOAD_BYTES} bytes of JSON`)
    .describe('any JSON value'),
  signature: z.string().min(1).max(4096).describe('detached compact JWS: <header>..<signature>, typ gatehouse-record+jws, kid of the active signing key'),
});

/** `POST /api/orgs/:orgId/records` answer (201 stored, 200 duplicate): the record as stored, the first time it was appended. */
export const appendRecordResponse = z.object({ status: z.enum(['stored', 'duplicate']), record: recordView });
