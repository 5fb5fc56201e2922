import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { database } from '../db.ts';
import { currentCa } from './ca.ts';
import { provisioningConfig } from './config.ts';
import { currentCrl } from './store/crl.ts';

/**
 * `GET /pki/crl`: the issuing CA's CRL as DER (`application/pkix-crl`, RFC 5280 §4.2.1.13 and RFC 2585 §4.2), the URL
 * every device certificate names as its CRL distribution point. Rebuilt after each revocation; cached only briefly.
 */
export const crl = new Hono<AppEnv>().get('/pki/crl', async (c) => {
  const current = await currentCrl(database(c.env.DB), await currentCa(c.env), provisioningConfig(c.env).crlValidityMs);
  return c.body(current.der, 200, {
    'Content-Type': 'application/pkix-crl',
    'Cache-Control': 'public, max-age=60',
    'Last-Modified': current.thisUpdate.toUTCString(),
  });
});
