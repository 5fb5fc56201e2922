/**
 * Helpers for the organisation and records e2e tests: user access tokens signed with the server's key (as the token
 * endpoint issues them), the organisation's key pairs (the private halves play the connector), signed records, and
 * the real agent CLI.
 */
import { spawn } from 'node:child_process';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import type { RecordContent } from '../../lib/records/canonical.ts';
import { signRecord } from '../../lib/records/signature.ts';
import { ROOT } from './fixtures.ts';

/** An access token for a user, RS256 with the server's first signing key. */
export async function userToken(baseUrl: string, signingKeys: string, user: { id: string; username: string }): Promise<string> {
  const jwk = (JSON.parse(signingKeys) as { keys: (JWK & { kid: string })[] }).keys[0];
  if (!jwk) throw new Error('no signing key');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ token_use: 'access', client_id: 'e2e-records', username: user.username, scope: 'openid' })
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
    .setIssuer(baseUrl)
    .setSubject(user.id)
    .setIssuedAt(now)
    .setExpirationTime(now + 1800)
    .sign(await importJWK(jwk, 'RS256'));
}

/** A JSON call to the Client API; returns the status and the parsed body. */
export async function api<T = Record<string, unknown>>(baseUrl: string, token: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Bearer ${token}`, ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, body: (await res.json().catch(() => ({}))) as T };
}

/** An organisation's key pairs: P-256 for encryption, Ed25519 for signing; the private halves never leave the test. */
export async function orgKeyPairs() {
  const enc = await generateKeyPair('ECDH-ES+A256KW', { extractable: true });
  const sig = await generateKeyPair('EdDSA', { extractable: true, crv: 'Ed25519' });
  const encKid = `enc-${crypto.randomUUID().slice(0, 8)}`;
  const sigKid = `sig-${crypto.randomUUID().slice(0, 8)}`;
  return {
    encKid,
    sigKid,
    decryptKey: enc.privateKey,
    encryptionKey: { ...(await exportJWK(enc.publicKey)), kid: encKid, use: 'enc' },
    signingKey: { ...(await exportJWK(sig.publicKey)), kid: sigKid, use: 'sig' },
    sign: (record: RecordContent) => signRecord(record, sig.privateKey, { kid: sigKid, alg: 'EdDSA' }),
  };
}

/** Runs the agent CLI (`node agent/cli.ts …`, as `gatehouse-agent` does) and collects its exit code and output. */
export function agent(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['agent/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
