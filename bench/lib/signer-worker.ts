import { importJWK, SignJWT } from 'jose';

/** The baseline: a bare Worker that signs one RS256 JWT per request with the same library and key type as Gatehouse. */
let key: Promise<CryptoKey> | undefined;

export default {
  async fetch(_req: Request, env: { JWT_SIGNING_KEYS: string }): Promise<Response> {
    key ??= importJWK((JSON.parse(env.JWT_SIGNING_KEYS) as { keys: Record<string, string>[] }).keys[0]!, 'RS256') as Promise<CryptoKey>;
    const now = Math.floor(Date.now() / 1000);
    const jwt = await new SignJWT({ sub: crypto.randomUUID(), token_use: 'access', scope: 'api/read' })
      .setProtectedHeader({ alg: 'RS256', kid: 'bench', typ: 'JWT' })
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(await key);
    return Response.json({ access_token: jwt, token_type: 'Bearer', expires_in: 3600 });
  },
};
