/**
 * Verification of AWS Signature Version 4 (AWS4-HMAC-SHA256 in the Authorization header) as AWS services do it, for the
 * Cognito admin operations: the canonical request is rebuilt from the received request, the credential scope must be
 * today's date, the configured region and `cognito-idp`, and X-Amz-Date must be within 5 minutes of now.
 */
import { bytesToHex, timingSafeEqual, utf8 } from '../../../lib/encoding.ts';
import { hmacSha256, sha256HexOf } from '../../../lib/srp/group.ts';
import { CognitoError } from './errors.ts';

/** The service name in the credential scope. */
export const SIGV4_SERVICE = 'cognito-idp';

/** Largest difference between X-Amz-Date and the server's clock AWS accepts. */
export const MAX_SKEW_MS = 5 * 60 * 1000;

/** What verification needs from the request. */
export type SignedRequest = { method: string; url: string; headers: Headers; body: Uint8Array<ArrayBuffer> };

const AUTH = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})\s*$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const unrecognized = (internal: string) => new CognitoError('UnrecognizedClientException', 'The security token included in the request is invalid.', { internal });
const badSignature = (message: string, internal?: string) => new CognitoError('InvalidSignatureException', message, internal ? { internal } : {});

/** RFC 3986 percent-encoding of everything but unreserved characters, as SigV4 requires. */
const encodeRfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);

/** The canonical URI: normalised segments, each URI-encoded twice (every service but S3). */
function canonicalUri(pathname: string): string {
  const segments: string[] = [];
  for (const raw of pathname.split('/')) {
    const segment = decodeURIComponent(raw);
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(encodeRfc3986(encodeRfc3986(segment)));
  }
  const path = `/${segments.join('/')}`;
  return pathname.endsWith('/') && path !== '/' ? `${path}/` : path;
}

function canonicalQuery(search: URLSearchParams): string {
  return [...search.entries()]
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function parseAmzDate(value: string): number | undefined {
  const m = AMZ_DATE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const ms = Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 0, h ?? 0, mi ?? 0, s ?? 0);
  return Number.isNaN(ms) ? undefined : ms;
}

async function signingKey(secret: string, date: string, region: string, service: string): Promise<Uint8Array<ArrayBuffer>> {
  const kDate = await hmacSha256(utf8(`AWS4${secret}`), utf8(date));
  const kRegion = await hmacSha256(kDate, utf8(region));
  const kService = await hmacSha256(kRegion, utf8(service));
  return hmacSha256(kService, utf8('aws4_request'));
}

/**
 * Verifies a request's SigV4 signature against the configured keys; returns the access key id, or throws the
 * error AWS would answer with (MissingAuthenticationTokenException, UnrecognizedClientException, InvalidSignatureException).
 */
export async function verifySigV4(req: SignedRequest, opts: { keys: ReadonlyMap<string, string>; region: string; now?: number; service?: string }): Promise<string> {
  const expectedService = opts.service ?? SIGV4_SERVICE;
  const header = req.headers.get('authorization');
  if (!header) throw new CognitoError('MissingAuthenticationTokenException', 'Missing Authentication Token', { internal: 'no Authorization header on an admin operation' });
  const auth = AUTH.exec(header.trim());
  if (!auth) throw new CognitoError('IncompleteSignatureException', 'Authorization header requires Credential, SignedHeaders and Signature (AWS4-HMAC-SHA256).');
  const [, credential = '', signedHeaderList = '', signature = ''] = auth;
  const [accessKeyId = '', scopeDate = '', region = '', service = '', terminator = '', ...rest] = credential.split('/');
  if (rest.length || terminator !== 'aws4_request' || !/^\d{8}$/.test(scopeDate)) throw badSignature('Credential should be scoped with a valid terminator: \'aws4_request\'.');
  if (service !== expectedService) throw badSignature(`Credential should be scoped to correct service: '${expectedService}'.`);
  if (region !== opts.region) throw badSignature('Credential should be scoped to a valid region.', `region ${region}, expected ${opts.region}`);
  if (req.headers.has('x-amz-security-token')) throw unrecognized('temporary credentials are not accepted');
  const secret = opts.keys.get(accessKeyId);
  if (secret === undefined) throw unrecognized(`unknown access key id ${accessKeyId}`);

  const amzDate = req.headers.get('x-amz-date') ?? '';
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) throw badSignature('X-Amz-Date is missing or malformed.');
  if (amzDate.slice(0, 8) !== scopeDate) throw badSignature('Date in Credential scope does not match YYYYMMDD from X-Amz-Date.');
  const now = opts.now ?? Date.now();
  if (Math.abs(now - signedAt) > MAX_SKEW_MS) throw badSignature(`Signature expired: ${amzDate} is outside 5 minutes of the server time.`);

  const signedHeaders = signedHeaderList.split(';');
  const sorted = [...signedHeaders].sort();
  if (signedHeaders.some((h, i) => h !== h.toLowerCase() || h !== sorted[i]) || !signedHeaders.includes('host') || !signedHeaders.includes('x-amz-date')) {
    throw badSignature('SignedHeaders must be sorted lower-case names and include host and x-amz-date.');
  }
  const url = new URL(req.url);
  const headerValue = (name: string) => (name === 'host' ? (req.headers.get('host') ?? url.host) : req.headers.get(name));
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${(headerValue(name) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const payloadHash = await sha256HexOf(req.body);
  const declared = req.headers.get('x-amz-content-sha256');
  if (declared !== null && declared !== payloadHash) throw badSignature('The provided x-amz-content-sha256 header does not match what was computed.');
  const canonicalRequest = [req.method.toUpperCase(), canonicalUri(url.pathname), canonicalQuery(url.searchParams), canonicalHeaders, signedHeaderList, payloadHash].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, `${scopeDate}/${region}/${service}/aws4_request`, await sha256HexOf(utf8(canonicalRequest))].join('\n');
  const expected = bytesToHex(await hmacSha256(await signingKey(secret, scopeDate, region, service), utf8(stringToSign)));
  if (!timingSafeEqual(expected, signature)) {
    throw badSignature(
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
      `signature mismatch for ${accessKeyId}`,
    );
  }
  return accessKeyId;
}
