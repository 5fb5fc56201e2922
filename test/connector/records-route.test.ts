import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

const post = (body: unknown) => exports.default.fetch('https://connector.test/records', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
type Problem = { status: number; detail: string; errors?: { path: string; message: string }[] };

describe('POST /records', () => {
  it('refuses a bad body with the fields named, before signing anything', async () => {
    const res = await post({ type: 'bad type!', payload: { a: 1 }, extra: true });
    expect(res.status).toBe(400);
    const body = (await res.json()) as Problem;
    expect(body.errors?.map((e) => e.path).sort()).toEqual(['json', 'type']);
    expect(body.errors?.find((e) => e.path === 'type')?.message).toMatch(/^must be 1–64 of/);
  });

  it('answers 502, not 500, when the platform cannot be reached', async () => {
    const res = await post({ type: 'note.added', payload: { text: 'hello' } });
    expect(res.status).toBe(502);
    expect(((await res.json()) as Problem).detail).toMatch(/^The platform refused the record: the platform at http:\/\/127\.0\.0\.1:9 could not be reached/);
  });
});

describe('unknown routes', () => {
  it('answer a problem 404', async () => {
    const res = await exports.default.fetch('https://connector.test/nope');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
});
