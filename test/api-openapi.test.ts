import { describe, expect, it } from 'vitest';
import { api } from '../workers/api/index.ts';
import { openApiPath } from '../workers/api/openapi.ts';
import { call } from './gateway.test-fixture.ts';

type Doc = {
  openapi: string;
  servers: { url: string }[];
  paths: Record<string, Record<string, { operationId: string; security?: unknown[]; parameters?: { name: string; in: string }[]; requestBody?: unknown; responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, { type?: string; properties?: Record<string, unknown>; additionalProperties?: unknown; required?: string[] }> };
};

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

describe('GET /api/openapi.json', () => {
  it('is a public OpenAPI 3.1 document for this deployment', async () => {
    const res = await call('/api/openapi.json', null);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = (await res.json()) as Doc;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.servers[0]?.url).toBe('http://127.0.0.1:8787');
    expect(doc.paths['/api/openapi.json']?.get?.security).toEqual([]);
  });

  it('lists exactly the routes the api app serves, method by method', async () => {
    const doc = (await (await call('/api/openapi.json', null)).json()) as Doc;
    const served = new Set(api.routes.filter((r) => METHODS.has(r.method.toLowerCase())).map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path.replace(/\/$/, '') || '/')}`));
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)));
    expect([...served].sort()).toEqual([...documented].sort());
    expect(served.size).toBeGreaterThanOrEqual(16);
  });

  it('describes parameters, bodies and errors from the validation schemas', async () => {
    const doc = (await (await call('/api/openapi.json', null)).json()) as Doc;
    const grant = doc.paths['/api/devices/{deviceId}/users/{userId}']!.put!;
    expect(grant.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(['path:deviceId', 'path:userId']);
    expect(Object.keys(grant.responses).sort()).toEqual(['200', '201', '400', '401', '403', '404', '409', '429', '500']);
    expect(doc.components.schemas.Grant).toMatchObject({ type: 'object', required: ['role'], additionalProperties: false });
    expect(doc.components.schemas.Grant?.properties?.role).toEqual({ type: 'string', enum: ['owner', 'admin', 'operator', 'viewer'] });
    expect(doc.paths['/api/devices']!.get!.parameters?.map((p) => p.name)).toEqual(['limit', 'after']);
    for (const [name, schema] of Object.entries(doc.components.schemas)) expect(schema, name).not.toHaveProperty('$schema');
  });
});
