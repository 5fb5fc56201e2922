import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { discoverJwksUri, freshnessSeconds, remoteKeySet } from '../workers/gateway/remote-jwks.ts';

/** An external IdP in memory: its keys, its JWKS response headers, and a clock the test moves. */
async function idp() {
  const keys: { kid: string; privateKey: CryptoKey; jwk: JWK }[] = [];
  const addKey = async (kid: string) => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    keys.push({ kid, privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256' } });
  };
  await addKey('k1');
  const state = { now: 1_000_000, headers: { 'cache-control': 'public, max-age=600' } as Record<string, string>, fail: false, fetches: 0 };
  const fetch = async () => {
    state.fetches++;
    if (state.fail) return new Response('down', { status: 503 });
    return Response.json({ keys: keys.map((k) => k.jwk) }, { headers: state.headers });
  };
  const sign = (kid: string) => {
    const key = keys.find((k) => k.kid === kid)!;
    return new SignJWT({ sub: 'u' }).setProtectedHeader({ alg: 'ES256', kid }).setIssuedAt().setExpirationTime('5m').sign(key.privateKey);
  };
  const set = remoteKeySet('https://idp.example/jwks', { fetch, now: () => state.now });
  return { state, set, addKey, sign };
}

describe('remote JWKS cache (trusted issuers)', () => {
  it('caches for max-age, refetches after it, and shares one fetch between concurrent requests', async () => {
    const { state, set, sign } = await idp();
    const token = await sign('k1');
    await Promise.all([jwtVerify(token, set), jwtVerify(token, set), jwtVerify(token, set)]);
    expect(state.fetches).toBe(1);
    state.now += 599_000;
    await jwtVerify(token, set);
    expect(state.fetches).toBe(1);
    state.now += 2000;
    await jwtVerify(token, set);
    expect(state.fetches).toBe(2);
  });

  it('bounds the lifetime: no-store still caches 60 s, a year is cut to a day', async () => {
    const a = await idp();
    a.state.headers = { 'cache-control': 'no-store' };
    const token = await a.sign('k1');
    await jwtVerify(token, a.set);
    a.state.now += 59_000;
    await jwtVerify(token, a.set);
    expect(a.state.fetches).toBe(1);
    a.state.now += 2000;
    await jwtVerify(token, a.set);
    expect(a.state.fetches).toBe(2);
    const b = await idp();
    b.state.headers = { 'cache-control': 'max-age=31536000' };
    await jwtVerify(await b.sign('k1'), b.set);
    b.state.now += 86_401_000;
    await jwtVerify(await b.sign('k1'), b.set);
    expect(b.state.fetches).toBe(2);
  });

  it('refetches on an unknown kid (key rotation), at most once per cooldown', async () => {
    const { state, set, sign, addKey } = await idp();
    await jwtVerify(await sign('k1'), set);
    state.now += 31_000;
    await addKey('k2');
    await jwtVerify(await sign('k2'), set);
    expect(state.fetches).toBe(2);
    await addKey('k3');
    await expect(jwtVerify(await sign('k3'), set)).rejects.toThrow(/no applicable key/i);
    expect(state.fetches).toBe(2);
    state.now += 31_000;
    await jwtVerify(await sign('k3'), set);
    expect(state.fetches).toBe(3);
  });

  it('keeps serving the last good keys while the IdP is down, and backs off when it never answered', async () => {
    const { state, set, sign } = await idp();
    const token = await sign('k1');
    await jwtVerify(token, set);
    state.fail = true;
    state.now += 601_000;
    await jwtVerify(token, set);
    expect(state.fetches).toBe(2);
    await jwtVerify(token, set);
    expect(state.fetches).toBe(2);

    const cold = await idp();
    cold.state.fail = true;
    const coldToken = await cold.sign('k1');
    await expect(jwtVerify(coldToken, cold.set)).rejects.toThrow(/503/);
    await expect(jwtVerify(coldToken, cold.set)).rejects.toThrow(/unavailable/);
    expect(cold.state.fetches).toBe(1);
    cold.state.fail = false;
    cold.state.now += 6000;
    await jwtVerify(coldToken, cold.set);
    expect(cold.state.fetches).toBe(2);
  });

  it('reads freshness from Cache-Control (minus Age) or Expires', () => {
    expect(freshnessSeconds(new Headers({ 'cache-control': 'public, max-age=300', age: '100' }), 0)).toBe(200);
    expect(freshnessSeconds(new Headers({ 'cache-control': 's-maxage=50' }), 0)).toBe(50);
    expect(freshnessSeconds(new Headers({ date: 'Wed, 25 Nov 2026 10:00:00 GMT', expires: 'Wed, 25 Nov 2026 10:10:00 GMT' }), 0)).toBe(600);
    expect(freshnessSeconds(new Headers({ 'cache-control': 'no-cache' }), 0)).toBe(0);
    expect(freshnessSeconds(new Headers(), 0)).toBeUndefined();
  });

  it('discovers jwks_uri and refuses a discovery document naming another issuer', async () => {
    const doc = (issuer: string) => async () => Response.json({ issuer, jwks_uri: 'https://idp.example/keys' });
    expect(await discoverJwksUri('https://idp.example', doc('https://idp.example/'))).toBe('https://idp.example/keys');
    await expect(discoverJwksUri('https://idp.example', doc('https://evil.example'))).rejects.toThrow(/another issuer/);
  });
});
