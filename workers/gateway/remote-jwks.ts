import { createLocalJWKSet, errors, type JSONWebKeySet, type JWSHeaderParameters, type FlattenedJWSInput } from 'jose';
import { z } from 'zod';

/**
 * A remote JWKS cache for trusted external issuers, per isolate. Unlike jose's createRemoteJWKSet it keeps keys for as
 * long as the JWKS response's `Cache-Control: max-age` (or `Expires`) says, within bounds; it refetches early when a
 * token names an unknown `kid` (key rotation), at most once per cooldown; and it keeps serving the last good keys
 * when a refetch fails, so an IdP outage does not log everybody out.
 */

/** The `fetch` the cache uses (injectable for tests). */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Tuning of one cache; the defaults suit public IdPs. */
export type RemoteJwksOptions = {
  fetch?: FetchLike;
  now?: () => number;
  /** Bounds on how long a response is trusted, in seconds, whatever its headers say. */
  minTtlSeconds?: number;
  maxTtlSeconds?: number;
  /** Used when the response has no usable cache header. */
  defaultTtlSeconds?: number;
  /** The least time between two refetches caused by an unknown `kid`. */
  cooldownSeconds?: number;
  timeoutMs?: number;
};

/** A key resolver for jose's `jwtVerify`, with its fetch count for tests and logs. */
export type RemoteKeySet = ((header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>) & { fetches: () => number };

const FAILURE_BACKOFF_MS = 5000;
const jwksSchema = z.object({ keys: z.array(z.looseObject({ kty: z.string() })) });

/** How long a response may be cached, in seconds, from `Cache-Control` (RFC 9111 §5.2.2) or `Expires`. */
export function freshnessSeconds(headers: Headers, nowMs: number): number | undefined {
  const cc = headers.get('cache-control') ?? '';
  if (/(^|,)\s*(no-store|no-cache)\b/i.test(cc)) return 0;
  const maxAge = /(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*"?(\d+)"?/i.exec(cc);
  if (maxAge?.[1]) return Math.max(0, Number(maxAge[1]) - Number(headers.get('age') ?? 0));
  const expires = Date.parse(headers.get('expires') ?? '');
  if (Number.isFinite(expires)) return Math.max(0, Math.floor((expires - (Date.parse(headers.get('date') ?? '') || nowMs)) / 1000));
  return undefined;
}

/** Makes a resolver over the JWKS at `uri` (or the URI a promise resolves to, for discovery). */
export function remoteKeySet(uri: string | (() => Promise<string>), opts: RemoteJwksOptions = {}): RemoteKeySet {
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init));
  const now = opts.now ?? Date.now;
  const [minTtl, maxTtl, dfltTtl] = [opts.minTtlSeconds ?? 60, opts.maxTtlSeconds ?? 86_400, opts.defaultTtlSeconds ?? 600];
  const cooldownMs = (opts.cooldownSeconds ?? 30) * 1000;
  let keys: ReturnType<typeof createLocalJWKSet> | undefined;
  let expiresAt = 0;
  let fetchedAt = -Infinity;
  let inflight: Promise<void> | undefined;
  let count = 0;

  const load = async () => {
    count++;
    fetchedAt = now();
    const url = typeof uri === 'string' ? uri : await uri();
    const res = await doFetch(url, { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) });
    if (!res.ok) throw new Error(`JWKS fetch answered ${res.status}`);
    const body = jwksSchema.safeParse(await res.json());
    if (!body.success) throw new Error('JWKS response is not a JWK set');
    keys = createLocalJWKSet(body.data as JSONWebKeySet);
    const ttl = Math.min(maxTtl, Math.max(minTtl, freshnessSeconds(res.headers, now()) ?? dfltTtl));
    expiresAt = now() + ttl * 1000;
  };
  // One fetch at a time per set: concurrent requests share it. A failed refetch keeps the keys already held.
  const refresh = () =>
    (inflight ??= load()
      .catch((err: unknown) => {
        if (!keys) throw err;
        expiresAt = now() + cooldownMs; // serve the old keys, and try again after the cooldown rather than per request
      })
      .finally(() => {
        inflight = undefined;
      }));

  const resolve = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    if (!keys || now() >= expiresAt) {
      if (!keys && !inflight && now() - fetchedAt < FAILURE_BACKOFF_MS) throw new Error('JWKS unavailable (a fetch failed just now)');
      await refresh();
    }
    try {
      return await keys!(header, token);
    } catch (err) {
      // A kid we do not know may be a new key after rotation: refetch, unless we did so very recently.
      if (!(err instanceof errors.JWKSNoMatchingKey) || now() - fetchedAt < cooldownMs) throw err;
      await refresh();
      return keys!(header, token);
    }
  };
  return Object.assign(resolve, { fetches: () => count });
}

const discoverySchema = z.object({ issuer: z.string(), jwks_uri: z.url() });

/** Reads `jwks_uri` from an issuer's OpenID discovery document, checking its `issuer` (OIDC Discovery §4.3). */
export async function discoverJwksUri(issuer: string, doFetch: FetchLike = (i, init) => fetch(i, init)): Promise<string> {
  const res = await doFetch(`${issuer}/.well-known/openid-configuration`, { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`discovery answered ${res.status}`);
  const doc = discoverySchema.safeParse(await res.json());
  if (!doc.success) throw new Error('discovery document has no jwks_uri');
  if (doc.data.issuer.replace(/\/+$/, '') !== issuer) throw new Error('discovery document names another issuer');
  return doc.data.jwks_uri;
}

const sets = new Map<string, RemoteKeySet>();

/** The isolate-wide key set of a trusted issuer (keyed by issuer and configured JWKS URI). */
export function issuerKeySet(issuer: string, jwksUri: string | undefined): RemoteKeySet {
  const key = `${issuer} ${jwksUri ?? ''}`;
  let set = sets.get(key);
  if (!set) {
    let discovered: Promise<string> | undefined;
    const uri = jwksUri ?? (() => (discovered ??= discoverJwksUri(issuer).catch((err: unknown) => {
      discovered = undefined;
      throw err;
    })));
    set = remoteKeySet(uri);
    sets.set(key, set);
  }
  return set;
}
