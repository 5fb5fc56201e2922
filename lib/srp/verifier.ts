/**
 * The password verifier of Cognito's SRP: x = H(padHex(salt) || H(poolName || userId || ":" || password)) and
 * v = g^x mod N. `poolName` is the part of the user pool id after `_`; `userId` is what InitiateAuth returns as
 * `USER_ID_FOR_SRP`, which the client then hashes instead of what the user typed.
 */
import { bytesToHex, utf8 } from '../encoding.ts';
import { fromHex, g, hexHash, modPow, N, padHex, sha256HexOf } from './group.ts';

/** A stored verifier: the salt and v, both as `padHex` hex. */
export type SrpVerifier = { salt: string; verifier: string };

/** The pool name SRP hashes: the part of a `<region>_<id>` pool id after the first `_`. */
export function poolNameOf(userPoolId: string): string {
  const at = userPoolId.indexOf('_');
  if (at < 0) throw new RangeError('a user pool id looks like <region>_<id>');
  return userPoolId.slice(at + 1);
}

/** x, the private exponent derived from salt, pool, user and password, as amazon-cognito-identity-js computes it. */
export async function passwordExponent(poolName: string, userId: string, password: string, salt: bigint): Promise<bigint> {
  const inner = await sha256HexOf(utf8(`${poolName}${userId}:${password}`));
  return fromHex(await hexHash(padHex(salt) + inner));
}

/** A fresh 128-bit salt in the canonical `padHex` form, which round-trips through the client's integer parse. */
export function newSalt(): string {
  return padHex(fromHex(bytesToHex(crypto.getRandomValues(new Uint8Array(16)))));
}

/** Computes the verifier for a password; a salt is generated unless one is given (tests pass fixed ones). */
export async function createVerifier(poolName: string, userId: string, password: string, salt: string = newSalt()): Promise<SrpVerifier> {
  const canonicalSalt = padHex(fromHex(salt));
  const x = await passwordExponent(poolName, userId, password, fromHex(canonicalSalt));
  return { salt: canonicalSalt, verifier: padHex(modPow(g, x, N)) };
}
