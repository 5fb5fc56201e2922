import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { readDotenv } from '../../scripts/lib/dotenv.ts';
import { openLocalD1 } from '../../scripts/lib/local-d1.ts';

const root = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

describe('the local platform', () => {
  it('serves /health with D1 ok from the real Worker', async () => {
    const res = await fetch(`${inject('baseUrl')}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', checks: { d1: 'ok' } });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes with a problem document', async () => {
    const res = await fetch(`${inject('baseUrl')}/definitely/not/here`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
});

describe('npm run setup', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-setup-'));
  const devVars = path.join(dir, '.dev.vars');
  const state = path.join(dir, 'state');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const setup = () => run(process.execPath, ['scripts/setup.ts', '--dev-vars', devVars, '--persist-to', state], { cwd: root });

  it('generates secrets, migrates, seeds once, and keeps everything on a second run', async () => {
    const first = await setup();
    expect(first.stdout).toMatch(/generated JWT_SIGNING_KEYS, CLAIMS_FERNET_KEYS, CA_CERT, CA_KEY, CA_CHAIN, PROV_ADMIN_API_KEY/);
    expect(first.stdout).toMatch(/created app client {2}client_id=gatehouse-demo {2}client_secret=\S{20,}/);
    expect(first.stdout).toMatch(/created user {2}username=demo@example.com {2}password=\S{12,}/);
    expect(statSync(devVars).mode & 0o777).toBe(0o600);
    const secrets = readDotenv(devVars);
    const kid = (JSON.parse(secrets.JWT_SIGNING_KEYS ?? '{}') as { keys: { kid: string }[] }).keys[0]?.kid;
    expect(kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(secrets.CA_CERT).toContain('-----BEGIN CERTIFICATE-----\n');

    const rawBefore = readFileSync(devVars, 'utf8');
    const second = await setup();
    expect(second.stdout).toContain('kept the existing secrets');
    expect(second.stdout).toContain('already up to date');
    expect(second.stdout).toContain('app client gatehouse-demo exists');
    expect(second.stdout).not.toMatch(/password=/);
    expect(readFileSync(devVars, 'utf8')).toBe(rawBefore);
    expect(readDotenv(devVars)).toEqual(secrets);

    const local = await openLocalD1({ configPath: path.join(root, 'wrangler.toml'), stateDir: state });
    try {
      const users = await local.db.prepare('SELECT username, status FROM users').all();
      expect(users.results).toEqual([{ username: 'demo@example.com', status: 'CONFIRMED' }]);
      const claims = await local.db.prepare('SELECT ciphertext FROM user_claims').all<{ ciphertext: string }>();
      expect(claims.results[0]?.ciphertext).toMatch(/^gAAAAA/);
      expect(claims.results[0]?.ciphertext).not.toContain('hasura');
    } finally {
      await local.dispose();
    }
  }, 90_000);
});
