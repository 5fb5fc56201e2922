/**
 * Password hashing (PBKDF2-HMAC-SHA-256, RFC 8018 §5.2) and the password policy, on WebCrypto only so that the Worker
 * and the Node operator scripts produce and accept the same stored strings.
 *
 * Stored format, self-describing so parameters can be raised later without a migration:
 *   pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>            one derivation
 *   pbkdf2-sha256$<iterations>x<rounds>$<salt b64url>$<hash b64url>   `rounds` chained derivations
 * In a chain the 32-byte output of one derivation is the password of the next, with the same salt. Chaining exists
 * because production Workers refuse a single PBKDF2 derivation above 100,000 iterations (local workerd does not).
 */
import { COMMON_PASSWORDS } from './common-passwords.ts';
import { base64ToBytes, bytesToBase64Url, timingSafeEqual, utf8 } from './encoding.ts';

/** The most iterations one `deriveBits` call may use: Cloudflare Workers reject PBKDF2 above this. */
export const MAX_PBKDF2_ITERATIONS = 100_000;

/** Total PBKDF2 iterations for new hashes; stored hashes with less work are flagged `needsRehash`. */
export const DEFAULT_PASSWORD_ITERATIONS = 100_000;

/** Longest password the policy accepts, in Unicode code points. */
export const MAX_PASSWORD_LENGTH = 256;

const SCHEME = 'pbkdf2-sha256';
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Bounds the work a corrupt or hostile stored string can ask `verifyPassword` to do. */
const MAX_ROUNDS = 100;
const STORED = /^pbkdf2-sha256\$([1-9][0-9]{0,6})(?:x([1-9][0-9]{0,2}))?\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]{43})$/;

/** Options for `hashPassword` and `verifyPassword`: `iterations` is the total work, split into rounds when needed. */
export interface PasswordHashOptions {
  readonly iterations?: number;
}

/** Outcome of `verifyPassword`: `needsRehash` asks the caller to store a fresh hash after a successful sign-in. */
export interface PasswordVerification {
  readonly ok: boolean;
  readonly needsRehash: boolean;
}

interface Plan {
  readonly iterations: number;
  readonly rounds: number;
}

/** Splits a total iteration count into the fewest equal rounds of at most `MAX_PBKDF2_ITERATIONS` each. */
function plan(total: number): Plan {
  if (!Number.isSafeInteger(total) || total < 1) throw new RangeError('iterations must be a positive integer');
  const rounds = Math.ceil(total / MAX_PBKDF2_ITERATIONS);
  if (rounds > MAX_ROUNDS) throw new RangeError(`iterations must be at most ${MAX_ROUNDS * MAX_PBKDF2_ITERATIONS}`);
  return { iterations: Math.ceil(total / rounds), rounds };
}

/** NIST SP 800-63B-4 §3.1.1.2: normalise Unicode (NFKC) so that visually equal passwords hash alike. */
const normalise = (password: string): string => password.normalize('NFKC');

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, { iterations, rounds }: Plan): Promise<Uint8Array<ArrayBuffer>> {
  if (iterations > MAX_PBKDF2_ITERATIONS) throw new RangeError('PBKDF2 iterations above the Workers limit');
  let input = utf8(normalise(password));
  for (let round = 0; round < rounds; round++) {
    const key = await crypto.subtle.importKey('raw', input, 'PBKDF2', false, ['deriveBits']);
    const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, HASH_BYTES * 8);
    input = new Uint8Array(bits);
  }
  return input;
}

const encodeParams = ({ iterations, rounds }: Plan): string => (rounds === 1 ? `${iterations}` : `${iterations}x${rounds}`);

/** Hashes a password with a fresh 16-byte salt into the self-describing stored format above. */
export async function hashPassword(password: string, opts: PasswordHashOptions = {}): Promise<string> {
  const params = plan(opts.iterations ?? DEFAULT_PASSWORD_ITERATIONS);
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, params);
  return `${SCHEME}$${encodeParams(params)}$${bytesToBase64Url(salt)}$${bytesToBase64Url(hash)}`;
}

/** Checks a password against a stored hash in constant time; a malformed or unknown stored value is `ok: false`, never a throw. */
export async function verifyPassword(
  password: string,
  stored: string,
  opts: PasswordHashOptions = {},
): Promise<PasswordVerification> {
  const fail = { ok: false, needsRehash: false } as const;
  try {
    const match = STORED.exec(stored);
    if (!match) return fail;
    const [, iterationsText = '', roundsText = '1', saltText = '', hashText = ''] = match;
    const params: Plan = { iterations: Number(iterationsText), rounds: Number(roundsText) };
    // A derivation above the cap would fail in production: treat such a value as unusable rather than half-working.
    if (params.iterations > MAX_PBKDF2_ITERATIONS || params.rounds > MAX_ROUNDS) return fail;
    const salt = base64ToBytes(saltText);
    if (salt.length === 0) return fail;
    const derived = await derive(password, salt, params);
    // Comparing the canonical encodings keeps timingSafeEqual's string contract and rejects non-canonical base64.
    if (!timingSafeEqual(bytesToBase64Url(derived), hashText)) return fail;
    const target = opts.iterations ?? DEFAULT_PASSWORD_ITERATIONS;
    return { ok: true, needsRehash: params.iterations * params.rounds < target || salt.length < SALT_BYTES };
  } catch {
    return fail;
  }
}

/** Options for `checkPasswordPolicy`; NIST SP 800-63B-4 asks for 15 characters when the password is the only factor. */
export interface PasswordPolicyOptions {
  readonly minLength?: number;
  readonly email?: string;
}

/** Outcome of `checkPasswordPolicy`: reasons are sentences meant for the hosted pages. */
export type PasswordPolicyResult = { readonly ok: true } | { readonly ok: false; readonly reasons: string[] };

/** The same password with decorations people add to common words (`Password123!`) peeled off. */
function commonCandidates(lower: string): string[] {
  const candidates = [lower, lower.replace(/[\W_]+$/u, ''), lower.replace(/[\d\W_]+$/u, ''), lower.replace(/^[\d\W_]+/u, '')];
  return candidates.filter((candidate, index) => candidate.length >= 4 && candidates.indexOf(candidate) === index);
}

/** True for one repeated character or a run like `abcdefgh` / `87654321`, which NIST lists as expected values. */
function isRepetitiveOrSequential(codePoints: readonly number[]): boolean {
  if (codePoints.length < 2) return false;
  const [first = 0, second = 0] = codePoints;
  const step = second - first;
  if (Math.abs(step) > 1) return false;
  return codePoints.every((point, index) => index === 0 || point - (codePoints[index - 1] ?? 0) === step);
}

/** Checks length, the common-password list and the user's email (NIST SP 800-63B-4 §3.1.1.2); no composition rules on purpose. */
export function checkPasswordPolicy(password: string, opts: PasswordPolicyOptions = {}): PasswordPolicyResult {
  const minLength = Math.max(1, Math.min(opts.minLength ?? 8, MAX_PASSWORD_LENGTH));
  const normalised = normalise(password);
  const codePoints = [...normalised].map((char) => char.codePointAt(0) ?? 0);
  const lower = normalised.toLowerCase();
  const reasons: string[] = [];

  if (codePoints.length < minLength) reasons.push(`Use at least ${minLength} characters.`);
  if (codePoints.length > MAX_PASSWORD_LENGTH) reasons.push(`Use at most ${MAX_PASSWORD_LENGTH} characters.`);
  if (commonCandidates(lower).some((candidate) => COMMON_PASSWORDS.has(candidate)) || isRepetitiveOrSequential(codePoints)) {
    reasons.push('This password is too common and easy to guess. Try a few unrelated words instead.');
  }

  const email = opts.email?.trim().toLowerCase() ?? '';
  const localPart = email.split('@')[0]?.split('+')[0] ?? '';
  if (localPart.length > 0) {
    // A very short local part (`jo@…`) would forbid too many passwords when matched as a substring.
    const containsLocal = localPart.length >= 3 ? lower.includes(localPart) : lower === localPart;
    if (containsLocal || lower.includes(email)) reasons.push('Your password must not contain your email address.');
  }

  return reasons.length === 0 ? { ok: true } : { ok: false, reasons };
}
