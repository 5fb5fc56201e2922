/**
 * The EST wire forms (RFC 7030): certs-only PKCS#7 and CSR attributes as base64 bodies, and errors as a 4xx with a
 * short `text/plain` body (§4.2.3), never problem+json, so EST clients (curl, libest, openssl-based scripts) read them.
 */
import { base64Body, certsOnlyPkcs7 } from '../../../lib/pki/pkcs7.ts';

/** Machine-readable error codes, sent in a `Gatehouse-Error` header next to the human text so the agent need not parse prose. */
export type EstErrorCode =
  | 'auth_required'
  | 'otp_unknown'
  | 'otp_expired'
  | 'otp_used'
  | 'otp_revoked'
  | 'otp_serial_required'
  | 'otp_serial_mismatch'
  | 'bad_request'
  | 'too_large'
  | 'device_auth'
  | 'device_revoked';

const NO_STORE = { 'Cache-Control': 'no-store' };

/** An EST error: status, one line of text, the code header, and any challenge. */
export function estError(status: number, code: EstErrorCode, message: string, headers: Record<string, string> = {}): Response {
  return new Response(`${message}\n`, {
    status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Gatehouse-Error': code, ...NO_STORE, ...headers },
  });
}

/** RFC 7030 §3.2.3: a 401 names the schemes EST accepts here (RFC 9110 §11.6.1). */
export const OTP_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="gatehouse-est", Bearer realm="gatehouse-est"' };

/** RFC 7030 §4.1.3 and §4.2.3: a certs-only SignedData, base64 with `Content-Transfer-Encoding: base64`. */
export function pkcs7Response(certsDer: readonly Uint8Array[], cacheControl = 'no-store'): Response {
  return new Response(base64Body(certsOnlyPkcs7(certsDer)), {
    headers: {
      'Content-Type': 'application/pkcs7-mime; smime-type=certs-only',
      'Content-Transfer-Encoding': 'base64',
      'Cache-Control': cacheControl,
    },
  });
}

/**
 * Reads a request body of at most `max` bytes: a larger Content-Length is refused before reading, and a body without
 * one is read only up to the limit. Returns the bytes, or the 413 response to send.
 */
export async function readBoundedBody(request: Request, max: number): Promise<Uint8Array | Response> {
  const tooLarge = () => estError(413, 'too_large', `request body larger than ${max} bytes`);
  const declared = Number(request.headers.get('Content-Length') ?? '0');
  if (declared > max) return tooLarge();
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
