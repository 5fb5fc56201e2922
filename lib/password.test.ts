import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_PASSWORD_ITERATIONS,
  MAX_PBKDF2_ITERATIONS,
  checkPasswordPolicy,
  hashPassword,
  verifyPassword,
} from './password.ts';

/** Records the iteration count of every PBKDF2 derivation while still running the real one. */
function spyOnDerivations(): number[] {
  const seen: number[] = [];
  const original = crypto.subtle.deriveBits.bind(crypto.subtle);
  vi.spyOn(crypto.subtle, 'deriveBits').mockImplementation((algorithm, key, length) => {
    if (typeof algorithm === 'object' && 'iterations' in algorithm && typeof algorithm.iterations === 'number') {
      seen.push(algorithm.iterations);
    }
    return original(algorithm, key, length);
  });
  return seen;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('hashPassword / verifyPassword', () => {
  it('writes the self-describing format with 100,000 iterations, a 16-byte salt and a 32-byte hash', async () => {
    const stored = await hashPassword('correct horse battery staple');
    expect(stored).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(DEFAULT_PASSWORD_ITERATIONS).toBe(100_000);
    expect(await verifyPassword('correct horse battery staple', stored)).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword('correct horse battery stapl', stored)).toEqual({ ok: false, needsRehash: false });
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([hashPassword('same password', { iterations: 10 }), hashPassword('same password', { iterations: 10 })]);
    expect(a).not.toBe(b);
  });

  it('never asks one derivation for more than 100,000 iterations (the production Workers cap)', async () => {
    const seen = spyOnDerivations();
    const single = await hashPassword('hunter2 but longer');
    const chained = await hashPassword('hunter2 but longer', { iterations: 250_000 });
    expect(chained).toMatch(/^pbkdf2-sha256\$83334x3\$/);
    expect(await verifyPassword('hunter2 but longer', chained, { iterations: 250_000 })).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword('hunter2 but longer', single)).toEqual({ ok: true, needsRehash: false });
    expect(seen).toEqual([100_000, 83_334, 83_334, 83_334, 83_334, 83_334, 83_334, 100_000]);
    expect(Math.max(...seen)).toBeLessThanOrEqual(MAX_PBKDF2_ITERATIONS);
  });

  it('computes standard PBKDF2-HMAC-SHA-256 (P="password", S="salt", c=1) and chains rounds as documented', async () => {
    // 120fb6cf… is the well-known c=1 vector; the second round is PBKDF2(round-1 output, same salt), from Python's hashlib.
    const single = 'pbkdf2-sha256$1$c2FsdA$Eg-2z_z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs';
    const chained = 'pbkdf2-sha256$1x2$c2FsdA$NhBT9ZuCQmWJ3O6HkGh19k1WFm3fJiudQeIO6UOje3I';
    expect(await verifyPassword('password', single)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword('password', chained)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword('password', chained.replace('1x2', '1'))).toEqual({ ok: false, needsRehash: false });
  });

  it('normalises Unicode (NFKC) before hashing, so composed and decomposed forms match', async () => {
    const stored = 'pbkdf2-sha256$3x2$AAECAwQFBgcICQoLDA0ODw$aEdFKYp0Cb0kgyyaBkcEe96R8ABfeWQZsHEivgcw5CY';
    expect((await verifyPassword('p\u00e4ssw\u00f6rd', stored)).ok).toBe(true);
    expect((await verifyPassword('pa\u0308sswo\u0308rd', stored)).ok).toBe(true);
  });

  it('flags hashes with less work than the current target for rehashing', async () => {
    const weak = await hashPassword('rehash me please', { iterations: 1_000 });
    expect(weak).toMatch(/^pbkdf2-sha256\$1000\$/);
    expect(await verifyPassword('rehash me please', weak)).toEqual({ ok: true, needsRehash: true });
    expect(await verifyPassword('rehash me please', weak, { iterations: 1_000 })).toEqual({ ok: true, needsRehash: false });
    expect(await verifyPassword('wrong', weak)).toEqual({ ok: false, needsRehash: false });
  });

  it('refuses to hash with a work factor it cannot express', async () => {
    await expect(hashPassword('x', { iterations: 0 })).rejects.toThrow(RangeError);
    await expect(hashPassword('x', { iterations: 1.5 })).rejects.toThrow(RangeError);
    await expect(hashPassword('x', { iterations: 100 * MAX_PBKDF2_ITERATIONS + 1 })).rejects.toThrow(RangeError);
  });

  it('answers ok: false for malformed or unknown stored values without throwing', async () => {
    const good = await hashPassword('a fine password', { iterations: 5 });
    const [, , salt = '', hash = ''] = good.split('$');
    const bad = [
      '',
      'plaintext',
      `bcrypt$5$${salt}$${hash}`,
      `pbkdf2-sha256$0$${salt}$${hash}`,
      `pbkdf2-sha256$05$${salt}$${hash}`,
      `pbkdf2-sha256$5x0$${salt}$${hash}`,
      `pbkdf2-sha256$600000$${salt}$${hash}`,
      `pbkdf2-sha256$5$${salt}$${hash.slice(1)}`,
      `pbkdf2-sha256$5$$${hash}`,
      `pbkdf2-sha256$5$a$${hash}`,
      `pbkdf2-sha256$5$${salt}$${hash}$extra`,
      `${good} `,
    ];
    for (const stored of bad) {
      expect(await verifyPassword('a fine password', stored), stored).toEqual({ ok: false, needsRehash: false });
    }
    const tampered = `pbkdf2-sha256$5$${salt}$${hash[0] === 'A' ? 'B' : 'A'}${hash.slice(1)}`;
    expect(await verifyPassword('a fine password', tampered)).toEqual({ ok: false, needsRehash: false });
    expect(await verifyPassword('a fine password', good)).toEqual({ ok: true, needsRehash: true });
  });
});

describe('checkPasswordPolicy', () => {
  it('accepts a long, uncommon password', () => {
    expect(checkPasswordPolicy('violet tractor moonlight', { email: 'alice@example.com' })).toEqual({ ok: true });
  });

  it('enforces the minimum and maximum length in code points', () => {
    expect(checkPasswordPolicy('x7#kQ2')).toEqual({ ok: false, reasons: ['Use at least 8 characters.'] });
    expect(checkPasswordPolicy('x7#kQ2v9p', { minLength: 12 })).toEqual({ ok: false, reasons: ['Use at least 12 characters.'] });
    // Eight emoji are sixteen UTF-16 units but eight characters.
    expect(checkPasswordPolicy('🦊🐙🌵🎲🧩🚲🪁🛶')).toEqual({ ok: true });
    expect(checkPasswordPolicy('ab'.repeat(128) + 'c')).toEqual({ ok: false, reasons: ['Use at most 256 characters.'] });
  });

  it('rejects common passwords case-insensitively, with decorations peeled off', () => {
    const common = 'This password is too common and easy to guess. Try a few unrelated words instead.';
    for (const password of ['password', 'PassWord', 'baseball', 'Password123', 'Sunshine2024!', 'P@ssw0rd', '!!trustno1', 'iloveyou1']) {
      expect(checkPasswordPolicy(password), password).toEqual({ ok: false, reasons: [common] });
    }
    expect(checkPasswordPolicy('qwerty')).toEqual({ ok: false, reasons: ['Use at least 8 characters.', common] });
  });

  it('rejects repeated and sequential characters', () => {
    expect(checkPasswordPolicy('zzzzzzzzzz').ok).toBe(false);
    expect(checkPasswordPolicy('abcdefghij').ok).toBe(false);
    expect(checkPasswordPolicy('9876543210').ok).toBe(false);
    expect(checkPasswordPolicy('abcdefghiz').ok).toBe(true);
  });

  it("rejects a password equal to or containing the email's local part", () => {
    const reason = 'Your password must not contain your email address.';
    expect(checkPasswordPolicy('jane.doe1', { email: 'jane.doe1@example.com' })).toEqual({ ok: false, reasons: [reason] });
    expect(checkPasswordPolicy('MyJane.Doe-key', { email: 'Jane.Doe+work@example.com' })).toEqual({ ok: false, reasons: [reason] });
    expect(checkPasswordPolicy('jo@example.org', { email: 'jo@example.org' })).toEqual({ ok: false, reasons: [reason] });
    // A two-letter local part is only refused as the whole password, not as any substring.
    expect(checkPasswordPolicy('violet jogging shoes', { email: 'jo@example.org' })).toEqual({ ok: true });
  });
});
