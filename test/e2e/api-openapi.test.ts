import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, inject, it } from 'vitest';

/** The Client API's OpenAPI document, fetched from the running Worker and checked against the OpenAPI 3.1 schema. */
describe('GET /api/openapi.json', () => {
  it('validates as OpenAPI 3.1 (schema and every $ref)', async () => {
    const res = await fetch(`${inject('baseUrl')}/api/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    const refs = JSON.stringify(doc).match(/"\$ref":"#\/components\/schemas\/([^"]+)"/g) ?? [];
    const schemas = (doc.components as { schemas: Record<string, unknown> }).schemas;
    for (const ref of refs) expect(schemas).toHaveProperty(ref.split('/').pop()!.replace('"', ''));
  });

  it('is refused by the validator when broken, so the check above can fail', async () => {
    const doc = (await (await fetch(`${inject('baseUrl')}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, Record<string, unknown>>> };
    doc.paths['/api/users/me']!.get!.parameters = [{ name: 'x' }]; // a parameter must say where it goes (`in`)
    expect((await new Validator().validate(doc)).valid).toBe(false);
  });
});
