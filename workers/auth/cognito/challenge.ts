/**
 * Open challenges of the Cognito API. The state (for SRP the server's secret b) travels to the client encrypted with
 * AES-256-GCM under a key derived from SESSION_COOKIE_KEY, as the `SECRET_BLOCK` or `Session`; D1 keeps only the SHA-256
 * of its random id, so each challenge can be answered once and only within CHALLENGE_TTL_MS.
 */
import { and, eq, gt, lt } from 'drizzle-orm';
import { base64ToBytes, bytesToBase64, concatBytes, fromUtf8, randomToken, sha256Hex, utf8 } from '../../../lib/encoding.ts';
import { hmacSha256 } from '../../../lib/srp/group.ts';
import { authChallenges, COGNITO_CHALLENGES } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';

/** A challenge name. */
export type ChallengeName = (typeof COGNITO_CHALLENGES)[number];

/** How long a challenge may be answered: Cognito's default authentication session validity is 3 minutes. */
export const CHALLENGE_TTL_MS = 5 * 60 * 1000;

/** What every challenge state holds: its id, user (null for the decoy challenge of an unknown user), client and expiry. */
export type ChallengeBase = { id: string; uid: string | null; cid: string; exp: number };

const keys = new Map<string, Promise<CryptoKey>>();

function aesKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = hmacSha256(utf8(secret), utf8('gatehouse/cognito-challenge/v1')).then((raw) => crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']));
    keys.set(secret, key);
  }
  return key;
}

/** Encrypts a challenge state (standard base64, as SECRET_BLOCK must be); the challenge name is bound as associated data. */
async function seal(secret: string, name: ChallengeName, state: ChallengeBase): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(name) }, await aesKey(secret), utf8(JSON.stringify(state)));
  return bytesToBase64(concatBytes(iv, new Uint8Array(data)));
}

/** Decrypts a sealed state, or undefined when it was tampered with, made for another challenge, or is not ours. */
async function open(secret: string, name: ChallengeName, sealed: string): Promise<Record<string, unknown> | undefined> {
  try {
    const bytes = base64ToBytes(sealed);
    if (bytes.length < 29 || bytes.length > 8192) return undefined;
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.slice(0, 12), additionalData: utf8(name) }, await aesKey(secret), bytes.slice(12));
    const value: unknown = JSON.parse(fromUtf8(new Uint8Array(plain)));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Opens a new challenge for a user: records its id hash and returns the sealed state to hand to the client. */
export async function openChallenge<S extends object>(
  db: Database,
  secret: string,
  name: ChallengeName,
  input: { userId: string | null; clientId: string; state: S },
  now = Date.now(),
): Promise<string> {
  const base: ChallengeBase = { id: randomToken(18), uid: input.userId, cid: input.clientId, exp: now + CHALLENGE_TTL_MS };
  if (input.userId !== null) {
    await db.insert(authChallenges).values({ idHash: await sha256Hex(base.id), userId: input.userId, clientId: input.clientId, name, expiresAt: base.exp, createdAt: now });
    // About one open in fifty sweeps expired rows, which keeps the table small without a scheduled job.
    if ((crypto.getRandomValues(new Uint8Array(1))[0] ?? 255) < 5) await db.delete(authChallenges).where(lt(authChallenges.expiresAt, now));
  }
  return seal(secret, name, { ...input.state, ...base });
}

/** A challenge's state when it decrypts, is unexpired and belongs to `clientId`, without consuming it (to validate input first). */
export async function readChallenge(
  secret: string,
  name: ChallengeName,
  sealed: string,
  clientId: string,
  now = Date.now(),
): Promise<(ChallengeBase & Record<string, unknown>) | undefined> {
  const state = await open(secret, name, sealed);
  if (!state || typeof state.id !== 'string' || typeof state.exp !== 'number' || typeof state.cid !== 'string') return undefined;
  if (state.exp <= now || state.cid !== clientId) return undefined;
  return { ...state, id: state.id, uid: typeof state.uid === 'string' ? state.uid : null, cid: state.cid, exp: state.exp };
}

/**
 * Opens and consumes a challenge answer: the state as `readChallenge` gives it, provided its row was still there (a
 * conditional DELETE, so of two parallel answers only one gets it). A decoy state (no user) is returned without a
 * row, for the caller to fail as it would a wrong password.
 */
export async function consumeChallenge(
  db: Database,
  secret: string,
  name: ChallengeName,
  sealed: string,
  clientId: string,
  now = Date.now(),
): Promise<(ChallengeBase & Record<string, unknown>) | undefined> {
  const state = await readChallenge(secret, name, sealed, clientId, now);
  if (!state || state.uid === null) return state;
  const consumed = await db
    .delete(authChallenges)
    .where(and(eq(authChallenges.idHash, await sha256Hex(state.id)), eq(authChallenges.name, name), eq(authChallenges.userId, state.uid), gt(authChallenges.expiresAt, now)))
    .returning({ userId: authChallenges.userId });
  return consumed.length > 0 ? state : undefined;
}
