import { bytesToHex } from '../encoding.ts';
import { children, DerError, readWhole, TAG } from './der.ts';

/** The device key types Gatehouse accepts (issue 4: ECDSA P-256/P-384, Ed25519, RSA ≥ 2048). */
export type DeviceKeyType = 'ECDSA-P256' | 'ECDSA-P384' | 'Ed25519' | 'RSA';

/** A public key that passed the allow-list: its SubjectPublicKeyInfo DER, its type and a WebCrypto handle. */
export type AllowedPublicKey = {
  spki: Uint8Array<ArrayBuffer>;
  keyType: DeviceKeyType;
  /** For verifying with `verify`: ECDSA, Ed25519, or RSASSA-PKCS1-v1_5 with SHA-256 (re-import `spki` for RSA-PSS). */
  key: CryptoKey;
};

/** The outcome of checking a key: either the key, or an internal reason for logs. */
export type KeyCheck = ({ ok: true } & AllowedPublicKey) | { ok: false; detail: string };

// DER of the AlgorithmIdentifier OIDs (RFC 5480 §2.1.1, RFC 3279 §2.3.1, RFC 8410 §3), as hex of the whole TLV.
const OID_EC_PUBLIC_KEY = '06072a8648ce3d0201';
const OID_P256 = '06082a8648ce3d030107';
const OID_P384 = '06052b81040022';
const OID_RSA = '06092a864886f70d010101';
const OID_ED25519 = '06032b6570';

/** RSA moduli outside this range are refused: below is breakable (NIST SP 800-131A), above only costs CPU. */
export const RSA_MIN_BITS = 2048;
const RSA_MAX_BITS = 8192;

/** WebCrypto import parameters, written out because workerd's and Node's (DOM) typings name them differently. */
export type ImportAlgorithm = { name: string; namedCurve?: string; hash?: string };
/** WebCrypto signing parameters (see `ImportAlgorithm`). */
export type SignAlgorithm = { name: string; hash?: string };

type Classified = { keyType: DeviceKeyType; importAlg: ImportAlgorithm };

function classify(spki: Uint8Array): Classified | string {
  const top = readWhole(spki, TAG.SEQUENCE);
  const [algId, bits] = children(spki, top);
  if (!algId || algId.tag !== TAG.SEQUENCE || !bits || bits.tag !== TAG.BIT_STRING) return 'not a SubjectPublicKeyInfo';
  const [oid, params, ...extra] = children(spki, algId);
  if (!oid || oid.tag !== TAG.OID || extra.length) return 'bad AlgorithmIdentifier';
  const oidHex = bytesToHex(spki.subarray(oid.start, oid.end));
  const paramsHex = params ? bytesToHex(spki.subarray(params.start, params.end)) : '';
  if (oidHex === OID_EC_PUBLIC_KEY) {
    // RFC 5480 §2.1.1: namedCurve only; implicit and specified curves are forbidden.
    if (paramsHex === OID_P256) return { keyType: 'ECDSA-P256', importAlg: { name: 'ECDSA', namedCurve: 'P-256' } };
    if (paramsHex === OID_P384) return { keyType: 'ECDSA-P384', importAlg: { name: 'ECDSA', namedCurve: 'P-384' } };
    return `EC curve ${paramsHex || 'absent'} not allowed`;
  }
  if (oidHex === OID_RSA) {
    if (paramsHex !== '0500') return 'RSA parameters must be NULL';
    return { keyType: 'RSA', importAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } };
  }
  // RFC 8410 §3: the parameters MUST be absent.
  if (oidHex === OID_ED25519 && !params) return { keyType: 'Ed25519', importAlg: { name: 'Ed25519' } };
  return `key algorithm ${oidHex} not allowed`;
}

/**
 * Checks a SubjectPublicKeyInfo against the allow-list and imports it. WebCrypto's import also validates the key
 * (EC points on the curve, RSA structure), so a key that imports is usable.
 */
export async function checkPublicKey(spkiInput: Uint8Array): Promise<KeyCheck> {
  const spki = new Uint8Array(spkiInput);
  let classified: Classified | string;
  try {
    classified = classify(spki);
  } catch (e) {
    return { ok: false, detail: e instanceof DerError ? `SPKI: ${e.message}` : 'SPKI unreadable' };
  }
  if (typeof classified === 'string') return { ok: false, detail: classified };
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('spki', spki, classified.importAlg, true, ['verify']);
  } catch {
    return { ok: false, detail: `${classified.keyType} key does not import` };
  }
  if (classified.keyType === 'RSA') {
    const alg: object = key.algorithm;
    const modulusLength = 'modulusLength' in alg && typeof alg.modulusLength === 'number' ? alg.modulusLength : 0;
    if (modulusLength < RSA_MIN_BITS || modulusLength > RSA_MAX_BITS) return { ok: false, detail: `RSA-${modulusLength}` };
  }
  return { ok: true, spki, keyType: classified.keyType, key };
}

/** WebCrypto parameters for a CA key: how to import its PKCS#8 and how to sign with it (RFC 5758 §3.2, RFC 4055). */
export type CaKeyAlgorithm = { importAlg: ImportAlgorithm; signingAlgorithm: SignAlgorithm };

/** Picks the CA's signature algorithm from its certificate's key: ECDSA with the curve's hash, or RSA PKCS#1 v1.5 SHA-256. */
export function caKeyAlgorithm(spki: Uint8Array): CaKeyAlgorithm | null {
  let classified: Classified | string;
  try {
    classified = classify(spki);
  } catch {
    return null;
  }
  if (typeof classified === 'string') return null;
  switch (classified.keyType) {
    case 'ECDSA-P256':
      return { importAlg: { name: 'ECDSA', namedCurve: 'P-256' }, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } };
    case 'ECDSA-P384':
      return { importAlg: { name: 'ECDSA', namedCurve: 'P-384' }, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } };
    case 'RSA':
      return {
        importAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
        signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' },
      };
    default:
      return null;
  }
}
