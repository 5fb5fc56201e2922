import { Hono } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { currentCa } from '../ca.ts';
import { pkcs7Response } from './respond.ts';

/**
 * `GET /.well-known/est/cacerts` (RFC 7030 §4.1): no authentication; the issuing CA then each issuer up to the root as
 * certs-only PKCS#7. Cached briefly, so an issuing-CA rotation reaches devices within minutes.
 */
export const cacerts = new Hono<AppEnv>().get('/.well-known/est/cacerts', async (c) => {
  const ca = await currentCa(c.env);
  return pkcs7Response(ca.chainDer, 'public, max-age=300');
});
