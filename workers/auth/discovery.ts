import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { authConfig } from './config.ts';
import { keyRing } from './keys.ts';

/** The claims our tokens and userinfo can carry. */
const CLAIMS = [
  'sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'jti', 'origin_jti', 'event_id', 'token_use',
  'email', 'email_verified', 'cognito:username', 'cognito:groups', 'username', 'https://hasura.io/jwt/claims',
];

/** `GET /.well-known/openid-configuration` (OIDC Discovery 1.0 §3) and `GET /.well-known/jwks.json` (RFC 7517). */
export const discovery = new Hono<AppEnv>()
  .get('/.well-known/openid-configuration', (c) => {
    const { issuer, publicUrl } = authConfig(c.env);
    c.header('Cache-Control', 'public, max-age=3600');
    return c.json({
      issuer,
      authorization_endpoint: `${publicUrl}/oauth2/authorize`,
      token_endpoint: `${publicUrl}/oauth2/token`,
      userinfo_endpoint: `${publicUrl}/oauth2/userInfo`,
      revocation_endpoint: `${publicUrl}/oauth2/revoke`,
      end_session_endpoint: `${publicUrl}/oauth2/logout`,
      jwks_uri: `${publicUrl}/.well-known/jwks.json`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      code_challenge_methods_supported: ['S256'],
      scopes_supported: ['openid', 'email', 'profile'],
      claims_supported: CLAIMS,
      prompt_values_supported: ['login', 'none', 'consent', 'select_account'],
      authorization_response_iss_parameter_supported: true,
      request_parameter_supported: false,
      request_uri_parameter_supported: false,
      claims_parameter_supported: false,
    });
  })
  .get('/.well-known/jwks.json', async (c) => {
    const ring = await keyRing(c.env.JWT_SIGNING_KEYS);
    // Hasura refreshes a JWKS only when it sees max-age or Expires.
    c.header('Cache-Control', 'public, max-age=3600');
    return c.json(ring.jwks);
  });
