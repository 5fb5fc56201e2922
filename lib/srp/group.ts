/**
 * The SRP-6a group and integer encodings exactly as Amazon Cognito and amazon-cognito-identity-js use them
 * (AuthenticationHelper.js): the RFC 5054 §A 3072-bit group, g = 2, SHA-256, and Java-style `padHex` byte strings.
 * Plain BigInt and WebCrypto, so the Worker and Node share it.
 */
import { bytesToHex, concatBytes } from '../encoding.ts';

/** RFC 5054 Appendix A, the 3072-bit group's prime. */
export const N = BigInt(
  '0x' +
    'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD' +
    'EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED' +
    'EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F' +
    '83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B' +
    'E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510' +
    '15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7' +
    'ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C' +
    'BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF',
);

/** The group's generator. */
export const g = 2n;

/**
 * The even-length hex of a non-negative integer with a `00` prefix when its top bit is set: the two's-complement bytes
 * Java's `BigInteger.toByteArray()` gives, which Cognito hashes wherever SRP hashes an integer.
 */
export function padHex(value: bigint): string {
  if (value < 0n) throw new RangeError('SRP values are non-negative');
  let hex = value.toString(16);
  if (hex.length % 2 !== 0) hex = `0${hex}`;
  return /^[89a-f]/.test(hex) ? `00${hex}` : hex;
}

/** Parses a hex string (any case, no prefix) as a non-negative integer; throws on anything that is not hex. */
export function fromHex(hex: string): bigint {
  if (!/^[0-9a-fA-F]+$/.test(hex)) throw new RangeError('not a hex string');
  return BigInt(`0x${hex}`);
}

/** Bytes of an even-length hex string. */
export function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new RangeError('not an even-length hex string');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** `base^exponent mod modulus` by left-to-right square-and-multiply. */
export function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  if (exponent < 0n) throw new RangeError('negative exponent');
  let result = 1n;
  let b = ((base % modulus) + modulus) % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    e >>= 1n;
    b = (b * b) % modulus;
  }
  return result;
}

/** The non-negative remainder, as Java's `BigInteger.mod` (JavaScript's `%` keeps the dividend's sign). */
export const mod = (value: bigint, modulus: bigint): bigint => ((value % modulus) + modulus) % modulus;

/** SHA-256 of bytes as 64 lower-case hex digits (Cognito's `hash`). */
export async function sha256HexOf(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

/** SHA-256 of the bytes a hex string spells (Cognito's `hexHash`). */
export const hexHash = (hex: string): Promise<string> => sha256HexOf(hexToBytes(hex));

let multiplier: Promise<bigint> | undefined;

/** k = H(padHex(N) || padHex(g)), Cognito's multiplier (RFC 5054 pads g to N's length instead; Cognito does not). */
export function k(): Promise<bigint> {
  multiplier ??= hexHash(padHex(N) + padHex(g)).then(fromHex);
  return multiplier;
}

/** HMAC-SHA-256 of `data` under `key`. */
export async function hmacSha256(key: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const cryptoKey = await crypto.subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, data));
}

