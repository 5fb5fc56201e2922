/**
 * Both halves of Cognito's SRP-6a exchange and the PASSWORD_VERIFIER signature, byte for byte as
 * amazon-cognito-identity-js (AuthenticationHelper.js, CognitoUser.authenticateUserDefaultAuth) computes them:
 * u = H(padHex(A) || padHex(B)), the session key is HKDF-SHA-256(ikm = padHex(S), salt = padHex(u),
 * info = "Caldera Derived Key") cut to 16 bytes, and the signature is
 * Base64(HMAC-SHA-256(key, poolName || userIdForSrp || secretBlock || timestamp)).
 */
import { bytesToBase64, bytesToHex, concatBytes, utf8 } from '../encoding.ts';
import { fromHex, g, hexHash, hexToBytes, hmacSha256, k, mod, modPow, N, padHex } from './group.ts';
import { passwordExponent } from './verifier.ts';

/** A value the peer sent that SRP must refuse (A or B ≡ 0 mod N, or u = 0), which would let it skip the password. */
export class SrpParameterError extends Error {
  override name = 'SrpParameterError';
}

const randomInteger = (bytes: number): bigint => fromHex(bytesToHex(crypto.getRandomValues(new Uint8Array(bytes))));

const INFO = concatBytes(utf8('Caldera Derived Key'), new Uint8Array([1]));

/** HKDF (RFC 5869) with SHA-256 and one output block, cut to the 16 bytes Cognito uses. */
async function hkdf16(ikm: Uint8Array<ArrayBuffer>, salt: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const prk = await hmacSha256(salt, ikm);
  return (await hmacSha256(prk, INFO)).slice(0, 16);
}

/** u, the scrambling parameter; refuses u = 0 as RFC 5054 §2.6 asks. */
async function scrambler(A: bigint, B: bigint): Promise<bigint> {
  const u = fromHex(await hexHash(padHex(A) + padHex(B)));
  if (u === 0n) throw new SrpParameterError('u is zero');
  return u;
}

/** The server's ephemeral pair: b (secret, 512 random bits unless given) and B = k·v + g^b mod N. */
export async function serverEphemeral(verifierHex: string, b: bigint = randomInteger(64)): Promise<{ b: bigint; B: bigint }> {
  const B = mod((await k()) * fromHex(verifierHex) + modPow(g, b, N), N);
  if (B === 0n) return serverEphemeral(verifierHex);
  return { b, B };
}

/** The server's session key from the client's A: S = (A · v^u)^b mod N. Throws SrpParameterError for a hostile A. */
export async function serverSessionKey(input: { A: bigint; B: bigint; b: bigint; verifierHex: string }): Promise<Uint8Array<ArrayBuffer>> {
  if (mod(input.A, N) === 0n) throw new SrpParameterError('A mod N is zero');
  const u = await scrambler(input.A, input.B);
  const S = modPow(mod(input.A * modPow(fromHex(input.verifierHex), u, N), N), input.b, N);
  return hkdf16(hexToBytes(padHex(S)), hexToBytes(padHex(u)));
}

/** The client's ephemeral pair: a (1024 random bits unless given, as the library draws) and A = g^a mod N. */
export function clientEphemeral(a: bigint = randomInteger(128)): { a: bigint; A: bigint } {
  return { a, A: modPow(g, a, N) };
}

/** The client's session key: S = (B − k·g^x)^(a + u·x) mod N, for tests and for clients written against this module. */
export async function clientSessionKey(input: {
  a: bigint;
  A: bigint;
  B: bigint;
  salt: string;
  poolName: string;
  userId: string;
  password: string;
}): Promise<Uint8Array<ArrayBuffer>> {
  if (mod(input.B, N) === 0n) throw new SrpParameterError('B mod N is zero');
  const u = await scrambler(input.A, input.B);
  const x = await passwordExponent(input.poolName, input.userId, input.password, fromHex(input.salt));
  const base = mod(input.B - (await k()) * modPow(g, x, N), N);
  const S = modPow(base, input.a + u * x, N);
  return hkdf16(hexToBytes(padHex(S)), hexToBytes(padHex(u)));
}

/** PASSWORD_CLAIM_SIGNATURE: Base64(HMAC-SHA-256(key, poolName || userIdForSrp || secretBlock || timestamp)). */
export async function passwordClaimSignature(
  key: Uint8Array<ArrayBuffer>,
  input: { poolName: string; userId: string; secretBlock: Uint8Array; timestamp: string },
): Promise<string> {
  const message = concatBytes(utf8(input.poolName), utf8(input.userId), input.secretBlock, utf8(input.timestamp));
  return bytesToBase64(await hmacSha256(key, message));
}
