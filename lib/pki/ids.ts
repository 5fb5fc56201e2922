import { sha256Hex } from '../encoding.ts';

/** RFC 5280 Appendix A upper bound ub-common-name: 64 characters. */
export const UB_COMMON_NAME = 64;
/** RFC 5280 Appendix A upper bound ub-serial-number: 64 characters. */
export const UB_SERIAL_NUMBER = 64;

/** The SAN URI prefix that names a device in its certificate. */
export const DEVICE_URN_PREFIX = 'urn:gatehouse:device:';

// Device ids are server-assigned UUIDs; the wider set keeps imported ids working while staying URN-safe (RFC 8141 §2).
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// X.680 §41.4 PrintableString: X520SerialNumber is a PrintableString (RFC 5280 Appendix A.1).
const PRINTABLE_STRING = /^[A-Za-z0-9 '()+,\-./:=?]+$/;
// Printable ASCII without control characters: what a requested CN may contain.
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** True when `id` can be a device id (and so a CN and a URN suffix). */
export const isDeviceId = (id: string): boolean => DEVICE_ID.test(id);

/** The SAN URI of a device: `urn:gatehouse:device:<id>`. */
export const deviceUrn = (deviceId: string): string => `${DEVICE_URN_PREFIX}${deviceId}`;

/** The device id inside a SAN URI, or null when the URI is not a Gatehouse device URN. */
export function deviceIdFromUrn(uri: string): string | null {
  if (!uri.startsWith(DEVICE_URN_PREFIX)) return null;
  const id = uri.slice(DEVICE_URN_PREFIX.length);
  return isDeviceId(id) ? id : null;
}

/** A device serial as it may appear in the subject's serialNumber attribute, or null when it cannot. */
export function cleanSerialNumber(raw: string): string | null {
  const s = raw.trim();
  return s.length > 0 && s.length <= UB_SERIAL_NUMBER && PRINTABLE_STRING.test(s) ? s : null;
}

/** A requested common name, trimmed, or null when it is empty, too long or not printable ASCII. */
export function cleanCommonName(raw: string): string | null {
  const s = raw.trim();
  return s.length > 0 && s.length <= UB_COMMON_NAME && PRINTABLE_ASCII.test(s) ? s : null;
}

/**
 * The canonical text of a certificate serial: lower-case hex of the positive integer without leading zero octets,
 * so a serial read back from DER (which may carry a sign octet, RFC 5280 §4.1.2.2) matches the one stored at issue.
 * Returns null for anything that is not 1 to 20 octets of hex.
 */
export function canonicalSerialHex(hex: string): string | null {
  let s = hex.toLowerCase();
  if (!/^[0-9a-f]+$/.test(s)) return null;
  if (s.length % 2) s = `0${s}`;
  while (s.startsWith('00') && s.length > 2) s = s.slice(2);
  return s.length <= 40 && s !== '00' ? s : null;
}

/** SHA-256 of a certificate's DER as lower-case hex: the fingerprint stored with each device certificate. */
export const fingerprintSha256Hex = (der: Uint8Array): Promise<string> => sha256Hex(new Uint8Array(der));
