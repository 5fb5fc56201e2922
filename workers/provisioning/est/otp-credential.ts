import { base64ToBytes, fromUtf8 } from '../../../lib/encoding.ts';

// What an OTP can look like (OTP_BYTES of base64url, with room for longer ones); anything else is not looked up.
const OTP_SHAPE = /^[A-Za-z0-9_-]{16,128}$/;

/**
 * The one-time passcode of a `simpleenroll` request (RFC 7030 §3.2.3): the password of HTTP Basic (RFC 7617 §2; the
 * user name is ignored, EST clients often send the serial or "est" there) or a Bearer token (RFC 6750 §2.1).
 * Returns null when the header is missing, malformed, or holds something that cannot be an OTP.
 */
export function otpFromAuthorization(header: string | undefined): string | null {
  if (!header) return null;
  const [scheme = '', value = '', ...rest] = header.trim().split(/ +/);
  if (rest.length || !value) return null;
  let candidate: string;
  if (/^basic$/i.test(scheme)) {
    let decoded: string;
    try {
      decoded = fromUtf8(base64ToBytes(value));
    } catch {
      return null;
    }
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    candidate = decoded.slice(colon + 1);
  } else if (/^bearer$/i.test(scheme)) {
    candidate = value;
  } else {
    return null;
  }
  return OTP_SHAPE.test(candidate) ? candidate : null;
}
