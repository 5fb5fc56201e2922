/**
 * The agent's EST client (RFC 7030): enrol with a one-time passcode, renew with a device JWT, fetch the CA chain.
 * Every failure becomes an `AgentError` whose exit code says what went wrong, and whose message is one clear line.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { bytesToBase64, utf8 } from '../lib/encoding.ts';
import { Pkcs7Invalid } from '../lib/pki/errors.ts';
import { deviceIdFromUrn, isDeviceId } from '../lib/pki/ids.ts';
import { base64Body, parseCertsOnlyPkcs7 } from '../lib/pki/pkcs7.ts';
import { AgentError, EXIT } from './errors.ts';

const TIMEOUT_MS = 30_000;

/** The URL of an EST operation under a Gatehouse base URL (which may itself have a path). */
export const estUrl = (baseUrl: string, operation: 'cacerts' | 'simpleenroll' | 'simplereenroll' | 'csrattrs') =>
  `${baseUrl.replace(/\/+$/, '')}/.well-known/est/${operation}`;

async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e);
    throw new AgentError(EXIT.UNREACHABLE, `cannot reach ${new URL(url).origin}: ${cause}`);
  }
}

/** Turns an EST error answer into the right exit code, using the server's `Gatehouse-Error` code when it sent one. */
async function refusal(res: Response, what: string): Promise<AgentError> {
  const code = res.headers.get('Gatehouse-Error') ?? '';
  const text = (await res.text().catch(() => '')).split('\n')[0]?.trim().slice(0, 200) || `HTTP ${res.status}`;
  if (code === 'otp_unknown' || code === 'auth_required') return new AgentError(EXIT.BAD_OTP, `${what} refused: ${text} (check --otp)`);
  if (code === 'otp_expired' || code === 'otp_used' || code === 'otp_revoked') {
    return new AgentError(EXIT.OTP_UNUSABLE, `${what} refused: ${text}; ask the operator for a new one`);
  }
  if (code === 'device_auth' || code === 'device_revoked') return new AgentError(EXIT.DEVICE_AUTH, `${what} refused: ${text}`);
  return new AgentError(EXIT.REJECTED, `${what} refused (HTTP ${res.status}): ${text}`);
}

async function certsFrom(res: Response, what: string): Promise<Uint8Array<ArrayBuffer>[]> {
  try {
    return parseCertsOnlyPkcs7(await res.text());
  } catch (e) {
    if (e instanceof Pkcs7Invalid) throw new AgentError(EXIT.REJECTED, `${what}: the server's answer is not a certs-only PKCS#7`);
    throw e;
  }
}

async function postCsr(url: string, authorization: string, csrDer: Uint8Array, what: string): Promise<x509.X509Certificate> {
  const res = await send(url, {
    method: 'POST',
    headers: { Authorization: authorization, 'Content-Type': 'application/pkcs10', 'Content-Transfer-Encoding': 'base64' },
    body: base64Body(csrDer),
  });
  if (res.status !== 200) throw await refusal(res, what);
  const [leaf] = await certsFrom(res, what);
  if (!leaf) throw new AgentError(EXIT.REJECTED, `${what}: no certificate in the answer`);
  return new x509.X509Certificate(leaf);
}

/** `simpleenroll` with the OTP as the HTTP Basic password (RFC 7617; the user name is the device serial, or "device"). */
export function simpleEnroll(baseUrl: string, otp: string, csrDer: Uint8Array, serial?: string | null): Promise<x509.X509Certificate> {
  const basic = `Basic ${bytesToBase64(utf8(`${serial ?? 'device'}:${otp}`))}`;
  return postCsr(estUrl(baseUrl, 'simpleenroll'), basic, csrDer, 'enrolment');
}

/** `simplereenroll`, authenticated by a device JWT. */
export function simpleReenroll(baseUrl: string, deviceJwt: string, csrDer: Uint8Array): Promise<x509.X509Certificate> {
  return postCsr(estUrl(baseUrl, 'simplereenroll'), `Bearer ${deviceJwt}`, csrDer, 'renewal');
}

/** `cacerts`: the issuing CA first, up to the root. */
export async function fetchCaCerts(baseUrl: string): Promise<x509.X509Certificate[]> {
  const res = await send(estUrl(baseUrl, 'cacerts'), { headers: { Accept: 'application/pkcs7-mime' } });
  if (res.status !== 200) throw await refusal(res, 'fetching the CA certificates');
  return (await certsFrom(res, 'cacerts')).map((der) => new x509.X509Certificate(der));
}

/** The device id a Gatehouse certificate names: its SAN URI `urn:gatehouse:device:<id>`, else its CN. */
export function deviceIdOf(cert: x509.X509Certificate): string {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const fromSan = san?.names.items.map((n) => (n.type === 'url' ? deviceIdFromUrn(n.value) : null)).find((id) => id !== null);
  const id = fromSan ?? cert.subjectName.getField('CN')[0];
  if (!id || !isDeviceId(id)) throw new AgentError(EXIT.REJECTED, 'the issued certificate names no device id');
  return id;
}

/**
 * Checks what the server issued before keeping it: the certificate is for our key, and one of the CA certificates
 * signed it. (The CA chain itself is trusted on first use, as EST's bootstrap allows with an out-of-band OTP, §4.1.1.)
 */
export async function checkIssued(cert: x509.X509Certificate, spki: Uint8Array, chain: x509.X509Certificate[]): Promise<void> {
  const certSpki = new Uint8Array(cert.publicKey.rawData);
  if (certSpki.length !== spki.length || certSpki.some((b, i) => b !== spki[i])) {
    throw new AgentError(EXIT.REJECTED, 'the issued certificate is not for this device key');
  }
  for (const issuer of chain) {
    if (cert.issuer === issuer.subject && (await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true }).catch(() => false))) return;
  }
  throw new AgentError(EXIT.REJECTED, 'the issued certificate does not chain to the server CA certificates');
}
