import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../lib/encoding.ts';
import { createMultiFernet } from '../../lib/fernet.ts';
import { verifyPassword } from '../../lib/password.ts';
import { readDotenv } from '../../scripts/lib/dotenv.ts';
import { openLocalD1 } from '../../scripts/lib/local-d1.ts';

/**
 * The operator CLI as operators run it: `node scripts/admin.ts …` in a child process, against a temp state dir and .dev.vars
 * made by `scripts/setup.ts --no-seed`. Rows are read back with openLocalD1 and claims decrypted with the temp key.
 */
const root = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-admin-'));
const devVars = path.join(dir, '.dev.vars');
const state = path.join(dir, 'state');
const PASSWORD = 'correct horse battery staple';

type Run = { code: number; stdout: string; stderr: string };

/** Runs the CLI against the temp target; never throws, so exit codes can be asserted. CLAIMS_FERNET_KEYS is blanked in its environment. */
function admin(args: string[], opts: { target?: string[] } = {}): Promise<Run> {
  const env = { ...process.env, CLAIMS_FERNET_KEYS: '' };
  const argv = ['scripts/admin.ts', ...(opts.target ?? ['--persist-to', state, '--dev-vars', devVars]), ...args];
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: root, env, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function json<T>(args: string[], opts?: { target?: string[] }): Promise<T> {
  const run = await admin([...args, '--json'], opts);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as T;
}

/** Runs a query against the temp local D1 (opened and closed around it, so it never overlaps a CLI run). */
async function query<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]> {
  const local = await openLocalD1({ configPath: path.join(root, 'wrangler.toml'), stateDir: state });
  try {
    return (await local.db.prepare(sql).bind(...params).all<T>()).results;
  } finally {
    await local.dispose();
  }
}

const decrypt = async (token: string) => JSON.parse(await createMultiFernet(readDotenv(devVars).CLAIMS_FERNET_KEYS ?? '').decryptText(token)) as unknown;
const claimsOf = async (userId: string) => {
  const [row] = await query<{ ciphertext: string }>('SELECT ciphertext FROM user_claims WHERE user_id = ?', userId);
  return row ? JSON.stringify(await decrypt(row.ciphertext)) : undefined;
};

/** A one-line error on stderr, nothing on stdout, and the expected exit code. */
function expectError(run: Run, code: number, message: string | RegExp) {
  expect(run.stdout).toBe('');
  expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(run.stderr.trimEnd()).toMatch(typeof message === 'string' ? `admin: ${message}` : message);
  expect(run.code).toBe(code);
}

beforeAll(async () => {
  await promisify(execFile)(process.execPath, ['scripts/setup.ts', '--dev-vars', devVars, '--persist-to', state, '--no-seed'], { cwd: root });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type ClientView = { id: string; name: string; type: string; redirectUris: string[]; secretHash?: string };

describe('client commands', () => {
  it('creates, lists and rotates: the secret is shown once and only its SHA-256 is stored', async () => {
    const created = await admin(['client', 'create', '--name', 'Web app', '--redirect-uri', 'https://app.example/cb', '--redirect-uri', 'http://localhost:3000/cb', '--grant-types', 'authorization_code,refresh_token,client_credentials', '--refresh-grace', '30']);
    expect(created.code).toBe(0);
    const id = /^client_id: +(\S+)$/m.exec(created.stdout)?.[1] ?? '';
    const secret = /^client_secret: (\S+)$/m.exec(created.stdout)?.[1] ?? '';
    expect(id).toMatch(/^[a-z0-9]{26}$/);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.stdout).toContain('refresh_grace: 30s');
    const [row] = await query<{ secret_hash: string; grant_types: string; refresh_grace_seconds: number }>('SELECT * FROM app_clients WHERE id = ?', id);
    expect(row).toMatchObject({ secret_hash: await sha256Hex(secret), grant_types: '["authorization_code","refresh_token","client_credentials"]', refresh_grace_seconds: 30 });

    const listed = await json<ClientView[]>(['client', 'list']);
    expect(listed.find((c) => c.id === id)).toMatchObject({ name: 'Web app', type: 'confidential', redirectUris: ['https://app.example/cb', 'http://localhost:3000/cb'] });
    expect(listed.every((c) => c.secretHash === undefined)).toBe(true);

    const rotated = await json<{ clientId: string; clientSecret: string }>(['client', 'rotate-secret', id]);
    expect(rotated.clientId).toBe(id);
    expect(rotated.clientSecret).not.toBe(secret);
    const [after] = await query<{ secret_hash: string }>('SELECT secret_hash FROM app_clients WHERE id = ?', id);
    expect(after?.secret_hash).toBe(await sha256Hex(rotated.clientSecret));
    expect(after?.secret_hash).not.toBe(row?.secret_hash);
    const audit = await query<{ actor: string; action: string; detail: string }>('SELECT actor, action, detail FROM audit_log WHERE target = ? ORDER BY id', id);
    expect(audit.map((a) => [a.actor, a.action])).toEqual([['admin-cli', 'client.create'], ['admin-cli', 'client.rotate_secret']]);
    expect(JSON.stringify(audit)).not.toContain(rotated.clientSecret);

    const updated = await json<ClientView & { accessTokenTtl: number }>(['client', 'update', id, '--access-token-ttl', '900', '--name', 'Web app 2']);
    expect(updated).toMatchObject({ name: 'Web app 2', accessTokenTtl: 900, redirectUris: ['https://app.example/cb', 'http://localhost:3000/cb'] });
    expect(await json(['client', 'delete', id])).toEqual({ deleted: id, revokedFamilies: 0 });
    expectError(await admin(['client', 'show', id]), 3, `no app client ${id}`);
  }, 120_000);

  it('refuses bad URIs, bad numbers, rotating a public client and unknown commands', async () => {
    const [fragment, number, unknown, option] = await Promise.all([
      admin(['client', 'create', '--name', 'x', '--redirect-uri', 'https://app.example/cb#frag']),
      admin(['client', 'create', '--name', 'x', '--redirect-uri', 'https://a.example/cb', '--refresh-grace', 'soon']),
      admin(['client', 'frobnicate']),
      admin(['client', 'create', '--name', 'x', '--bogus']),
    ]);
    expectError(fragment, 2, 'invalid client settings: redirectUris.0: https://app.example/cb#frag must not contain a fragment (RFC 6749 §3.1.2)');
    expectError(number, 2, '--refresh-grace must be a whole number, not "soon"');
    expectError(unknown, 2, /^admin: unknown command "client frobnicate"/);
    expectError(option, 2, /^admin: Unknown option '--bogus'/);
    const pub = await json<{ client: ClientView; clientSecret: string | null }>(['client', 'create', '--public', '--name', 'SPA', '--redirect-uri', 'http://127.0.0.1:5173/']);
    expect([pub.client.type, pub.clientSecret]).toEqual(['public', null]);
    expectError(await admin(['client', 'rotate-secret', pub.client.id]), 4, `app client ${pub.client.id} is public: it has no secret to rotate`);
  }, 60_000);
});

type UserOut = { user: { id: string; email: string; status: string; enabled: boolean; groups: string[] }; temporaryPassword: string | null };

describe('user commands', () => {
  it('creates a user with roles, then sets roles, disables and deletes, auditing each change', async () => {
    const created = await json<UserOut>(['user', 'create', '--email', 'Alice@Example.com', '--password', PASSWORD, '--groups', 'staff,ops', '--roles', 'user,editor', '--default-role', 'editor', '--claim', 'x-hasura-org-id=42']);
    const { id } = created.user;
    expect(created).toEqual({ temporaryPassword: null, user: expect.objectContaining({ email: 'alice@example.com', status: 'CONFIRMED', enabled: true, groups: ['ops', 'staff'] }) });
    expect(await claimsOf(id)).toBe(`{"x-hasura-user-id":"${id}","x-hasura-default-role":"editor","x-hasura-allowed-roles":["user","editor"],"x-hasura-org-id":"42"}`);
    const [row] = await query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = ?', id);
    expect((await verifyPassword(PASSWORD, row?.password_hash ?? '')).ok).toBe(true);

    const roles = await admin(['user', 'set-roles', 'alice@example.com', '--roles', 'admin,user']);
    expect(roles.code).toBe(0);
    expect(await claimsOf(id)).toBe(`{"x-hasura-user-id":"${id}","x-hasura-default-role":"admin","x-hasura-allowed-roles":["admin","user"],"x-hasura-org-id":"42"}`);
    const shown = await admin(['user', 'show', 'ALICE@example.com']);
    expect(shown.stdout).toContain('"x-hasura-allowed-roles": [');
    expect(shown.stdout).toMatch(/^status: +CONFIRMED$/m);

    const disabled = await admin(['user', 'disable', 'alice@example.com']);
    expect(disabled.stdout.trim()).toBe('disabled alice@example.com (0 token families revoked)');
    expect((await query<{ enabled: number }>('SELECT enabled FROM users WHERE id = ?', id))[0]?.enabled).toBe(0);

    const deleted = await json<{ deleted: string; id: string }>(['user', 'delete', 'alice@example.com']);
    expect(deleted).toMatchObject({ deleted: 'alice@example.com', id });
    expect(await query('SELECT id FROM users WHERE id = ?', id)).toEqual([]);
    expect(await query('SELECT user_id FROM user_claims WHERE user_id = ?', id)).toEqual([]);
    const audit = await query<{ actor: string; action: string }>('SELECT actor, action FROM audit_log WHERE target = ? ORDER BY id', id);
    expect(audit).toEqual(['user.create', 'user.set_roles', 'user.disable', 'user.delete'].map((action) => ({ actor: 'admin-cli', action })));
  }, 120_000);

  it('prints a temporary password once and forces a change', async () => {
    const run = await admin(['user', 'create', '--email', 'temp@example.com', '--temporary-password']);
    const temp = /^temporary_password: (\S+)$/m.exec(run.stdout)?.[1] ?? '';
    expect(run.stdout.split(temp).length).toBe(2);
    const [row] = await query<{ status: string; password_hash: string }>("SELECT status, password_hash FROM users WHERE username = 'temp@example.com'");
    expect(row?.status).toBe('FORCE_CHANGE_PASSWORD');
    expect((await verifyPassword(temp, row?.password_hash ?? '')).ok).toBe(true);
    const listed = await json<{ email: string; hasClaims: boolean }[]>(['user', 'list']);
    expect(listed.find((u) => u.email === 'temp@example.com')).toMatchObject({ hasClaims: false });
  }, 60_000);

  it('answers bad input with a one-line error and a non-zero exit', async () => {
    // One at a time: several CLI processes opening the same local SQLite file at once can contend for its lock.
    const runs: Run[] = [];
    for (const args of [
      ['user', 'create', '--email', 'not-an-email'],
      ['user', 'create', '--email', 'weak@example.com', '--password', 'password123'],
      ['user', 'show', 'ghost@example.com'],
      ['user', 'set-roles', 'ghost@example.com', '--roles', 'user'],
      ['user', 'set-roles', 'temp@example.com'],
      ['user', 'create', '--email', 'temp@example.com'],
      ['user', 'show'],
    ]) {
      runs.push(await admin(args));
    }
    const [badEmail, weak, ghost, ghostRoles, noRoles, duplicate, usage] = runs as [Run, Run, Run, Run, Run, Run, Run];
    expectError(badEmail, 2, 'invalid email: email: is not a valid email address');
    expectError(weak, 2, /^admin: weak password: This password is too common/);
    expectError(ghost, 3, 'no user ghost@example.com');
    expectError(ghostRoles, 3, 'no user ghost@example.com');
    expectError(noRoles, 2, 'user set-roles needs --roles a,b');
    expectError(duplicate, 4, 'user temp@example.com already exists');
    expectError(usage, 2, 'usage: npm run admin -- user show EMAIL');
  }, 120_000);

  it('explains where CLAIMS_FERNET_KEYS must come from, and guards remote deletes', async () => {
    const empty = path.join(dir, 'empty.vars');
    writeFileSync(empty, '# no keys\n');
    expectError(await admin(['user', 'create', '--email', 'k@example.com', '--roles', 'user'], { target: ['--persist-to', state, '--dev-vars', empty] }), 2, /^admin: CLAIMS_FERNET_KEYS is needed for this command: add it to .*empty\.vars/);
    expectError(await admin(['user', 'create', '--email', 'k@example.com', '--roles', 'user'], { target: ['--remote'] }), 2, /^admin: CLAIMS_FERNET_KEYS is needed for this command: pass --dev-vars PATH or --env-file PATH holding the production/);
    expectError(await admin(['user', 'delete', 'k@example.com'], { target: ['--remote'] }), 2, 'refusing to delete user k@example.com on the remote database without --yes');
    expectError(await admin(['client', 'list'], { target: ['--persist-to', path.join(dir, 'nowhere')] }), 2, /^admin: no local database in .*nowhere: run `npm run setup` first/);
  }, 60_000);
});

describe('through the wrangler adapter (the --remote code path, run against local state)', () => {
  const via = ['--via-wrangler', '--persist-to', state, '--dev-vars', devVars];

  it('writes and reads quotes, unicode, NULLs and integers, and runs batches', async () => {
    const name = "O'Reilly \"Ünïcödé\" app 🚀 -- ; /* ? */";
    const created = await json<{ client: ClientView & { idTokenTtl: number; logoutUris: string[] }; clientSecret: null }>(
      ['client', 'create', '--public', '--name', name, '--redirect-uri', "https://app.example/cb?x='1'", '--id-token-ttl', '600'],
      { target: via },
    );
    expect(created.client).toMatchObject({ name, type: 'public', idTokenTtl: 600, logoutUris: [], redirectUris: ["https://app.example/cb?x='1'"] });
    const [row] = await query<Record<string, unknown>>('SELECT name, secret_hash, id_token_ttl, typeof(id_token_ttl) AS t, allow_plain_pkce FROM app_clients WHERE id = ?', created.client.id);
    expect(row).toEqual({ name, secret_hash: null, id_token_ttl: 600, t: 'integer', allow_plain_pkce: 0 });
    const [audit] = await query<{ actor: string; action: string }>('SELECT actor, action FROM audit_log WHERE target = ?', created.client.id);
    expect(audit).toEqual({ actor: 'admin-cli', action: 'client.create' });
    expect(await json<ClientView>(['client', 'show', created.client.id], { target: via })).toMatchObject({ name, type: 'public' });

    const user = await json<UserOut>(['user', 'create', '--email', 'wrangler@example.com', '--groups', 'a'], { target: ['--persist-to', state, '--dev-vars', devVars] });
    const groups = await json<{ groups: string[] }>(['user', 'set-groups', 'wrangler@example.com', '--groups', "b,c'q,ü"], { target: via });
    expect(groups.groups).toEqual(['b', "c'q", 'ü']);
    const listed = await json<{ id: string; groups: string[]; hasPassword: boolean; enabled: boolean }[]>(['user', 'list'], { target: via });
    expect(listed.find((u) => u.id === user.user.id)).toMatchObject({ groups: ['b', "c'q", 'ü'], hasPassword: false, enabled: true });
    expectError(await admin(['user', 'show', 'nobody@example.com'], { target: via }), 3, 'no user nobody@example.com');
  }, 240_000);
});
