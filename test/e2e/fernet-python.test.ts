import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bytesToBase64 } from '../../lib/encoding.ts';
import { createMultiFernet, fernetDecrypt, fernetEncrypt } from '../../lib/fernet.ts';

/**
 * Interop with the reference implementation, Python `cryptography`. CI installs it; a missing python3 or package is a
 * failure, not a skip, so the suite can never pass vacuously. Each call runs a batch of operations in one process,
 * because importing `cryptography` dominates the cost.
 */
const PYTHON = String.raw`
import json, sys
import cryptography
from cryptography.fernet import Fernet, MultiFernet

def run(req):
    op = req["op"]
    if op == "version":
        return cryptography.__version__
    if op == "encrypt":
        key = req.get("key") or Fernet.generate_key().decode()
        return {"key": key, "token": Fernet(key).encrypt(req["text"].encode()).decode()}
    if op == "decrypt":
        return Fernet(req["key"]).decrypt(req["token"], ttl=req.get("ttl")).decode()
    if op == "multi_decrypt":
        return MultiFernet([Fernet(k) for k in req["keys"]]).decrypt(req["token"]).decode()
    if op == "extract_timestamp":
        return Fernet(req["key"]).extract_timestamp(req["token"])
    raise ValueError("unknown op " + op)

def safe(req):
    try:
        return run(req)
    except Exception as e:
        return {"error": type(e).__name__}

json.dump([safe(r) for r in json.load(sys.stdin)], sys.stdout)
`;

type Request = { op: string } & Record<string, unknown>;

/** Runs the requests in one python3 process (`GATEHOUSE_PYTHON` overrides which) and returns one result per request. */
function python(...requests: Request[]): unknown[] {
  let stdout: string;
  try {
    stdout = execFileSync(process.env.GATEHOUSE_PYTHON ?? 'python3', ['-c', PYTHON], {
      input: JSON.stringify(requests),
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 20_000,
    });
  } catch (err) {
    const e = err as { code?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('python3 is not installed: the Fernet interop test needs it (CI installs it)');
    if (e.stderr?.includes("No module named 'cryptography'")) {
      throw new Error('Python package `cryptography` is missing: run `pip install cryptography` (CI installs it)');
    }
    throw new Error(`python3 failed: ${e.stderr ?? String(err)}`);
  }
  return JSON.parse(stdout) as unknown[];
}

/** A fresh key in the format `Fernet.generate_key()` writes. */
const newKey = (): string =>
  bytesToBase64(crypto.getRandomValues(new Uint8Array(32))).replaceAll('+', '-').replaceAll('/', '_');

const claims = JSON.stringify({ sub: 'user-1', email: 'ü@example.com', groups: ['admins', 'ops'], iat: 1_700_000_000 });

describe('Fernet interop with Python cryptography', () => {
  it('finds python3 with the cryptography package', () => {
    expect(python({ op: 'version' })).toEqual([expect.stringMatching(/^\d+\.\d+/)]);
  });

  it('decrypts a token Python encrypted under a key Python generated', async () => {
    const [made] = python({ op: 'encrypt', text: claims }) as [{ key: string; token: string }];
    expect(made.key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(new TextDecoder().decode(await fernetDecrypt(made.key, made.token, { ttlSeconds: 60 }))).toBe(claims);
  });

  it('produces tokens Python decrypts, with a timestamp Python reads back', async () => {
    const key = newKey();
    const token = await fernetEncrypt(key, claims, { now: 1_700_000_123 });
    const fresh = await fernetEncrypt(key, 'fresh');
    expect(
      python(
        { op: 'decrypt', key, token },
        { op: 'extract_timestamp', key, token },
        { op: 'decrypt', key, token: fresh, ttl: 60 },
        { op: 'decrypt', key: newKey(), token },
      ),
    ).toEqual([claims, 1_700_000_123, 'fresh', { error: 'InvalidToken' }]);
  });

  it('interoperates with MultiFernet across a key rotation', async () => {
    const oldKey = newKey();
    const primaryKey = newKey();
    const ring = createMultiFernet(`${primaryKey},${oldKey}`);

    const [fromPython] = python({ op: 'encrypt', key: oldKey, text: claims }) as [{ token: string }];
    expect(await ring.decryptText(fromPython.token, { ttlSeconds: 60 })).toBe(claims);

    const rotated = await ring.rotate(fromPython.token);
    const [rotatedText, rotatedTs, originalTs, ringText, oldOnly] = python(
      { op: 'decrypt', key: primaryKey, token: rotated },
      { op: 'extract_timestamp', key: primaryKey, token: rotated },
      { op: 'extract_timestamp', key: oldKey, token: fromPython.token },
      { op: 'multi_decrypt', keys: [primaryKey, oldKey], token: await ring.encrypt('primary') },
      { op: 'decrypt', key: oldKey, token: rotated },
    );
    expect(rotatedText).toBe(claims);
    expect(rotatedTs).toEqual(expect.any(Number));
    expect(rotatedTs).toBe(originalTs);
    expect(ringText).toBe('primary');
    expect(oldOnly).toEqual({ error: 'InvalidToken' });
  });
});
