/**
 * Administration of app clients (Cognito app clients): list, show, register, update, rotate the secret, delete. Runtime-neutral
 * over the drizzle `Database`, so the operator CLI (local D1 or wrangler) and the Worker's admin API share one implementation.
 * Every change is written with its `audit_log` row in the same D1 batch.
 */
import type { BatchItem } from 'drizzle-orm/batch';
import type { MultiFernet } from '../../../lib/fernet.ts';
import { storeClientSecret } from '../cognito/app-client.ts';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { randomToken, sha256Hex } from '../../../lib/encoding.ts';
import { Problem } from '../../../lib/errors.ts';
import { appClients, auditLog, GRANT_TYPES, refreshTokens, revokedFamilies } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';
import { newClientId, type AppClient } from './clients.ts';

/** Who makes an administrative change (`admin-cli`, or an admin's user id) and the request it came with. */
export type AdminActor = { actor: string; requestId?: string };

/** The `audit_log` insert for one administrative change; `detail` never holds a secret. */
export const auditEntry = (db: Database, by: AdminActor, action: string, target: string, detail: Record<string, unknown> = {}) =>
  db.insert(auditLog).values({ actor: by.actor, action, target, detail, requestId: by.requestId ?? null });

/** A 404 for an unknown client or user. */
export const notFound = (detail: string) => new Problem(404, 'Not Found', { detail, type: 'urn:gatehouse:problem:not-found' });

/** Turns a failed zod parse into the project's 400 validation problem, with a one-line detail. */
export function invalid(what: string, error: z.ZodError): Problem {
  const errors = error.issues.map((issue) => ({ path: issue.path.map(String).join('.') || what, message: issue.message }));
  const detail = `invalid ${what}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`;
  return new Problem(400, 'Bad Request', { detail, errors, type: 'urn:gatehouse:problem:validation' });
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Why a redirect or logout URI is refused, or undefined: absolute, https (http only on loopback), no fragment (RFC 6749 §3.1.2). */
export function clientUriProblem(uri: string): string | undefined {
  if (!URL.canParse(uri)) return 'is not an absolute URI';
  const url = new URL(uri);
  if (uri.includes('#')) return 'must not contain a fragment (RFC 6749 §3.1.2)';
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) return undefined;
  return 'must use https (http only for localhost or 127.0.0.1)';
}

const uri = z.string().superRefine((value, ctx) => {
  const problem = clientUriProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `${value} ${problem}` });
});
// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const scope = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'is not a valid scope token');
const unique = <T>(values: T[]) => [...new Set(values)];

/** Client settings an operator controls, with Cognito's limits on token lifetimes (seconds). */
export const clientSettingsSchema = z
  .object({
    name: z.string().trim().min(1).max(128),
    confidential: z.boolean(),
    redirectUris: z.array(uri).max(100).transform(unique).default([]),
    logoutUris: z.array(uri).max(100).transform(unique).default([]),
    allowedScopes: z.array(scope).min(1).max(50).transform(unique).default(['openid', 'email', 'profile']),
    grantTypes: z.array(z.enum(GRANT_TYPES)).min(1).transform(unique).default(['authorization_code', 'refresh_token']),
    idTokenTtl: z.number().int().min(300).max(86_400).default(3600),
    accessTokenTtl: z.number().int().min(300).max(86_400).default(3600),
    refreshTokenTtl: z.number().int().min(3600).max(315_360_000).default(30 * 24 * 3600),
    refreshGraceSeconds: z.number().int().min(0).max(60).default(0),
    allowPlainPkce: z.boolean().default(false),
  })
  .superRefine((c, ctx) => {
    const has = (grant: (typeof GRANT_TYPES)[number]) => c.grantTypes.includes(grant);
    if (has('authorization_code') && c.redirectUris.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['redirectUris'], message: 'authorization_code needs at least one redirect URI' });
    }
    if (has('refresh_token') && !has('authorization_code')) {
      ctx.addIssue({ code: 'custom', path: ['grantTypes'], message: 'refresh_token is only issued with authorization_code' });
    }
    if (has('client_credentials') && !c.confidential) {
      ctx.addIssue({ code: 'custom', path: ['grantTypes'], message: 'client_credentials needs a confidential client' });
    }
  });

/** What it takes to register a client (defaults as Cognito's: 1 h ID/access tokens, 30 d refresh tokens). */
export type ClientSettingsInput = z.input<typeof clientSettingsSchema>;

/** Fields an update may change; being public or confidential is fixed at creation (rotate the secret instead). */
export type ClientUpdate = Partial<Omit<ClientSettingsInput, 'confidential'>>;

/** Every client, oldest first. */
export function listClients(db: Database): Promise<AppClient[]> {
  return db.select().from(appClients).orderBy(asc(appClients.createdAt), asc(appClients.id));
}

/** One client, or a 404 problem. */
export async function getClient(db: Database, id: string): Promise<AppClient> {
  const [client] = await db.select().from(appClients).where(eq(appClients.id, id));
  if (!client) throw notFound(`no app client ${id}`);
  return client;
}

/** Registers a client; a confidential client's secret is returned once and stored only as SHA-256. */
export async function registerClient(
  db: Database,
  input: ClientSettingsInput & { id?: string },
  by: AdminActor,
  /** When given, an encrypted copy of the secret is kept for the Cognito API's SECRET_HASH. */
  fernet?: MultiFernet | null,
  /** More writes for the same batch, given the new client's id (an organisation binds its client this way). */
  also: (clientId: string) => BatchItem<'sqlite'>[] = () => [],
): Promise<{ client: AppClient; secret: string | null }> {
  const parsed = clientSettingsSchema.safeParse(input);
  if (!parsed.success) throw invalid('client settings', parsed.error);
  const { confidential, ...settings } = parsed.data;
  const id = input.id ?? newClientId();
  const secret = confidential ? randomToken(32) : null;
  const now = Date.now();
  const [rows] = await db.batch([
    db.insert(appClients).values({ id, ...settings, secretHash: secret ? await sha256Hex(secret) : null, createdAt: now, updatedAt: now }).returning(),
    auditEntry(db, by, 'client.create', id, { name: settings.name, confidential }),
    ...also(id),
  ]);
  const [client] = rows;
  if (!client) throw new Error('insert returned no row');
  if (secret && fernet) await storeClientSecret(db, fernet, client.id, secret);
  return { client, secret };
}

/** Changes some settings; the merged result must still be a valid client. */
export async function updateClient(db: Database, id: string, patch: ClientUpdate, by: AdminActor): Promise<AppClient> {
  const current = await getClient(db, id);
  const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  const parsed = clientSettingsSchema.safeParse({ ...current, ...defined, confidential: current.secretHash !== null });
  if (!parsed.success) throw invalid('client settings', parsed.error);
  const { confidential: _, ...settings } = parsed.data;
  const [rows] = await db.batch([
    db.update(appClients).set({ ...settings, updatedAt: Date.now() }).where(eq(appClients.id, id)).returning(),
    auditEntry(db, by, 'client.update', id, { fields: Object.keys(defined) }),
  ]);
  const [client] = rows;
  if (!client) throw notFound(`no app client ${id}`);
  return client;
}

/** Replaces a confidential client's secret; the new one is returned once and the old one stops working at once. */
export async function rotateClientSecret(db: Database, id: string, by: AdminActor, fernet?: MultiFernet | null): Promise<{ client: AppClient; secret: string }> {
  const current = await getClient(db, id);
  if (current.secretHash === null) {
    throw new Problem(409, 'Conflict', { detail: `app client ${id} is public: it has no secret to rotate`, type: 'urn:gatehouse:problem:conflict' });
  }
  const secret = randomToken(32);
  const [rows] = await db.batch([
    db.update(appClients).set({ secretHash: await sha256Hex(secret), updatedAt: Date.now() }).where(eq(appClients.id, id)).returning(),
    auditEntry(db, by, 'client.rotate_secret', id),
  ]);
  const [client] = rows;
  if (!client) throw notFound(`no app client ${id}`);
  if (fernet) await storeClientSecret(db, fernet, client.id, secret);
  return { client, secret };
}

/**
 * Deletes a client. Its codes and refresh tokens go with it (ON DELETE CASCADE); its live token families are recorded as
 * revoked first, in the same batch, so access tokens it already issued stop working at userinfo and the gateway too.
 */
export async function deleteClient(db: Database, id: string, by: AdminActor, now = Date.now(), also: BatchItem<'sqlite'>[] = []): Promise<{ revokedFamilies: number }> {
  await getClient(db, id);
  const live = db
    .select({
      familyId: refreshTokens.familyId,
      reason: sql<'revoked'>`'revoked'`.as('reason'),
      expiresAt: sql<number>`max(${refreshTokens.expiresAt})`.as('expires_at'),
      createdAt: sql<number>`${now}`.as('created_at'),
    })
    .from(refreshTokens)
    .where(and(eq(refreshTokens.clientId, id), isNull(refreshTokens.revokedAt)))
    .groupBy(refreshTokens.familyId);
  const [revoked, deleted] = await db.batch([
    db.insert(revokedFamilies).select(live).onConflictDoNothing().returning({ familyId: revokedFamilies.familyId }),
    db.delete(appClients).where(eq(appClients.id, id)).returning({ id: appClients.id }),
    auditEntry(db, by, 'client.delete', id),
    ...also,
  ]);
  if (deleted.length === 0) throw notFound(`no app client ${id}`);
  return { revokedFamilies: revoked.length };
}
