import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { users } from '../schema/index.ts';
import { basic, db, seedClient, tokenRequest } from './support/auth-fixtures.ts';
import { call, expectBearerError, expectProblem, json, signIn } from './gateway.test-fixture.ts';

type Profile = { id: string; email: string; displayName: string; locale: string | null; zoneinfo: string | null; picture: string | null; federatedIssuer: string | null; createdAt: string };

describe('GET|PATCH /api/users/me', () => {
  it('creates the profile on the first call from the user, and returns the same one afterwards', async () => {
    const { access, user } = await signIn();
    expect(user.displayName).toBeNull();
    const res = await call('/api/users/me', access);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const first = (await res.json()) as Profile;
    expect(first).toMatchObject({ id: user.id, email: user.email, displayName: user.email.split('@')[0], locale: null, federatedIssuer: null });
    const stored = await db().query.users.findFirst({ where: eq(users.id, user.id) });
    expect(stored?.displayName).toBe(first.displayName);
    expect(await (await call('/api/users/me', access)).json()).toEqual(first);
  });

  it('edits display name, locale, time zone and picture; userinfo agrees', async () => {
    const { access, id } = await signIn();
    const res = await call('/api/users/me', access, json('PATCH', { displayName: '  Ada Lovelace ', locale: 'en-GB', zoneinfo: 'Europe/London', picture: 'https://cdn.example/ada.png' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ displayName: 'Ada Lovelace', locale: 'en-GB', zoneinfo: 'Europe/London', picture: 'https://cdn.example/ada.png' });
    expect(await (await call('/api/users/me', id)).json()).toMatchObject({ displayName: 'Ada Lovelace', locale: 'en-GB' });
    const info = (await (await call('/oauth2/userInfo', access)).json()) as Record<string, string>;
    expect(info.name).toBe('Ada Lovelace');
  });

  it('answers 400 with field-level errors for invalid or unknown fields and for an empty patch', async () => {
    const { access } = await signIn();
    const bad = await expectProblem(await call('/api/users/me', access, json('PATCH', { displayName: '', locale: 'not a tag!', picture: 'http://insecure.example/p.png' })), 400);
    expect(bad.type).toBe('urn:gatehouse:problem:validation');
    expect(bad.errors?.map((e) => e.path).sort()).toEqual(['displayName', 'locale', 'picture']);
    const unknown = await expectProblem(await call('/api/users/me', access, json('PATCH', { email: 'x@example.com' })), 400);
    expect(unknown.errors?.[0]?.message).toMatch(/unrecognized|email/i);
    const empty = await expectProblem(await call('/api/users/me', access, json('PATCH', {})), 400);
    expect(empty.errors?.[0]?.message).toMatch(/at least one field/);
  });

  it('needs a user token: 401 without one, 403 insufficient_scope for a client_credentials token', async () => {
    await expectBearerError(await call('/api/users/me', null), 401, 'invalid_token');
    const { client, secret } = await seedClient();
    const cc = (await (await tokenRequest({ grant_type: 'client_credentials', scope: 'api/read' }, { Authorization: basic(client.id, secret!) })).json()) as { access_token: string };
    await expectBearerError(await call('/api/users/me', cc.access_token), 403, 'insufficient_scope');
  });

  it('refuses the token of a user who was disabled or deleted', async () => {
    const { access, user } = await signIn();
    await db().update(users).set({ enabled: false }).where(eq(users.id, user.id));
    await expectBearerError(await call('/api/users/me', access), 401, 'invalid_token');
    await db().delete(users).where(eq(users.id, user.id));
    await expectBearerError(await call('/api/users/me', access), 401, 'invalid_token');
  });
});
