import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../../app-env.ts';
import { database } from '../../db.ts';
import { issueCodeRedirect, openCarriedRequest } from '../hosted/complete.ts';
import { renderSignedIn } from '../hosted/signed-in.tsx';
import { startSession } from '../session.ts';
import { isSameBrowser } from './browser-binding.ts';
import { findProvider } from './config.ts';
import { federationErrorPage } from './error-page.tsx';
import { FederationError } from './errors.ts';
import { federationFailed } from './failure.ts';
import { takePendingFederation } from './state-store.ts';
import { completeUpstreamSignIn } from './upstream-sign-in.ts';

/** The callback's query (RFC 6749 §4.1.2 and §4.1.2.1, RFC 9207); anything else an IdP adds is ignored. */
const answerSchema = z.object({
  state: z.string().min(1).max(512).optional(),
  code: z.string().min(1).max(4096).optional(),
  error: z.string().min(1).max(256).optional(),
  iss: z.string().min(1).max(2048).optional(),
});
const SINGLE = ['state', 'code', 'error', 'iss'] as const;

/**
 * `GET /oauth2/idpresponse`: where upstream identity providers send the browser back (Cognito's path; register
 * `${PUBLIC_URL}/oauth2/idpresponse` at each IdP). The state is taken exactly once and must come back to the browser
 * that started the flow; without a usable state there is no trusted app to answer, so an error page is shown. Past
 * that, failures go back to the app or the sign-in page (failure.ts), and success starts a login session and finishes
 * the carried authorize request with a code.
 */
export const idpResponse = new Hono<AppEnv>().get('/oauth2/idpresponse', async (c) => {
  const params = new URL(c.req.url).searchParams;
  const parsed = answerSchema.safeParse(Object.fromEntries(SINGLE.flatMap((n) => (params.has(n) ? [[n, params.get(n)]] : []))));
  if (!parsed.success || SINGLE.some((n) => params.getAll(n).length > 1)) return federationErrorPage(c, 'bad_callback');
  const { state, ...answer } = parsed.data;
  if (!state) return federationErrorPage(c, 'bad_state');

  const db = database(c.env.DB);
  const pending = await takePendingFederation(db, state);
  if (!pending) {
    c.get('log').warn('federation state unknown, used or expired');
    return federationErrorPage(c, 'bad_state');
  }
  if (!(await isSameBrowser(c, pending.browserHash))) {
    c.get('log').warn('federation state came back to another browser', { provider: pending.provider });
    return federationErrorPage(c, 'other_browser');
  }
  const carried = await openCarriedRequest(c, db, pending.request ?? undefined);
  if (carried instanceof Response) return carried;
  const provider = findProvider(c.env, pending.provider);
  if (!provider) return federationErrorPage(c, 'unknown_provider');

  try {
    const { user, outcome } = await completeUpstreamSignIn(c.env, db, provider, { state, ...answer });
    const session = await startSession(c, db, user);
    c.get('log').info('federated sign-in', { provider: provider.name, userId: user.id, outcome, clientId: carried?.client.id });
    if (carried) return await issueCodeRedirect(c, db, carried.request, user, session.authTime);
    return await renderSignedIn(c, user);
  } catch (err) {
    if (err instanceof FederationError) return federationFailed(c, err, provider, { origin: pending.origin, carried });
    throw err;
  }
});
