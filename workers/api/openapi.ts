import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { authConfig } from '../auth/config.ts';
import { components, operations, type OperationSpec } from './openapi-operations.ts';

/**
 * `GET /api/openapi.json`: the OpenAPI 3.1 document of the Client API, generated from the zod schemas the routes validate
 * with (OpenAPI 3.1 schemas are JSON Schema 2020-12, which `z.toJSONSchema` writes). Built once per public URL.
 */

type Json = Record<string, unknown>;

const toSchema = (schema: z.ZodType, io: 'input' | 'output'): Json => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  return rest;
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const problem = (description: string, headers?: Json) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } }, ...(headers ? { headers } : {}) });

const ERRORS: Record<number, string> = {
  400: 'Invalid request: the problem lists each invalid field in `errors`',
  401: 'Missing, malformed, expired or revoked bearer token (RFC 6750 `invalid_token`)',
  403: 'Not allowed: insufficient scope, or a role too weak for this',
  404: 'No such resource, or none shared with the caller',
  409: 'Conflicts with the current state',
  429: 'Rate limited; retry after `Retry-After` seconds',
  500: 'Unexpected error; quote the request id',
};

function parameters(op: OperationSpec): Json[] {
  const out: Json[] = [];
  for (const [where, obj] of [['path', op.params], ['query', op.query]] as const) {
    if (!obj) continue;
    const schema = toSchema(obj, 'input') as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, prop] of Object.entries(schema.properties ?? {})) {
      out.push({ name, in: where, required: where === 'path' || (schema.required ?? []).includes(name), schema: prop });
    }
  }
  return out;
}

function operation(op: OperationSpec): Json {
  const responses: Json = {};
  for (const [status, r] of Object.entries(op.responses)) {
    responses[status] = { description: r.description, ...(r.schema ? { content: { 'application/json': { schema: ref(r.schema) } } } : {}) };
  }
  if (!op.public) {
    const statuses = [400, 401, 429, 500, ...(op.errors ?? [])].sort();
    for (const status of statuses) {
      responses[status] = problem(ERRORS[status] ?? 'Error', status === 401 || status === 403 ? { 'WWW-Authenticate': { schema: { type: 'string' }, description: 'RFC 6750 challenge' } } : status === 429 ? { 'Retry-After': { schema: { type: 'integer' } } } : undefined);
    }
  }
  return {
    operationId: op.operationId,
    summary: op.summary,
    tags: [op.tag],
    ...(op.public ? { security: [] } : {}),
    ...(parameters(op).length ? { parameters: parameters(op) } : {}),
    ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(op.body) } } } } : {}),
    responses,
  };
}

/** `/api/devices/:deviceId` → `/api/devices/{deviceId}`. */
export const openApiPath = (honoPath: string): string => honoPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** Builds the OpenAPI 3.1 document for a deployment's public URL. */
export function openApiDocument(publicUrl: string): Json {
  const paths: Record<string, Json> = {};
  for (const op of operations) (paths[openApiPath(op.path)] ??= {})[op.method] = operation(op);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse Client API',
      version: '1.0.0',
      description: 'Profiles, devices, sharing, the Authorizer and user management. Every call but this document needs `Authorization: Bearer <ID or access token>`; errors are RFC 9457 problem details.',
    },
    servers: [{ url: publicUrl }],
    security: [{ bearer: [] }],
    tags: [...new Set(operations.map((o) => o.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An ID or access token from this platform or a trusted issuer' } },
      schemas: Object.fromEntries(Object.entries(components).map(([name, c]) => [name, toSchema(c.schema, c.io)])),
    },
  };
}

const documents = new Map<string, string>();

/** `GET /api/openapi.json` (public, cacheable). */
export const openapi = new Hono<AppEnv>().get('/api/openapi.json', (c) => {
  const url = authConfig(c.env).publicUrl;
  let doc = documents.get(url);
  if (!doc) {
    doc = JSON.stringify(openApiDocument(url));
    documents.set(url, doc);
  }
  c.header('Cache-Control', 'public, max-age=300');
  return c.body(doc, 200, { 'Content-Type': 'application/json' });
});
