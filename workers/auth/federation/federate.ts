import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.ts';
import { database } from '../../db.ts';
import { openCarriedRequest } from '../hosted/complete.ts';
import { findProvider } from './config.ts';
import { federationErrorPage } from './error-page.tsx';
import { FederationError } from './errors.ts';
import { federationFailed } from './failure.ts';
import { startFederation } from './start.ts';

const querySchema = z.object({
  identity_provider: z.string().min(1).max(64),
  request: z.string().min(1).max(16_384).optional(),
});

/**
 * `GET /oauth2/federate?identity_provider=NAME[&request=SEALED]`: the "Sign in with …" links of the hosted sign-in
 * page. It keeps the page's sealed authorize request, so the app's sign-in finishes after the upstream one; without a
 * request it ends on the signed-in page. A GET link rather than a form, because the CSP `form-action` of the hosted
 * pages would block a form's redirect to the IdP (CSP 3 §6.3.2.2).
 */
export const federate = new Hono<AppEnv>().get('/oauth2/federate', async (c) => {
  const query = querySchema.safeParse(c.req.query());
  const provider = query.success ? findProvider(c.env, query.data.identity_provider) : undefined;
  if (!query.success || !provider) return federationErrorPage(c, 'unknown_provider');
  const db = database(c.env.DB);
  const carried = await openCarriedRequest(c, db, query.data.request);
  if (carried instanceof Response) return carried;
  try {
    return await startFederation(c, db, provider, { origin: 'login', sealedRequest: carried?.sealed, request: carried?.request });
  } catch (err) {
    if (err instanceof FederationError) return federationFailed(c, err, provider, { origin: 'login', carried });
    throw err;
  }
});
