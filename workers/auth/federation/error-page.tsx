import type { Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { Layout, render } from '../hosted/page.tsx';
import { Alert } from '../hosted/ui.tsx';

/** The federation error pages' messages, by cause: fixed texts, never the request's or the upstream's words. */
const MESSAGES = {
  bad_state:
    'This sign-in attempt is not valid: it has expired, was already used, or did not start here. Go back to the application and sign in again.',
  other_browser:
    'This sign-in was started in another browser or tab whose cookies this one does not have. Go back to the application and sign in again from here.',
  unknown_provider: 'This sign-in link names an identity provider that is not set up here.',
  bad_callback: 'The identity provider sent an answer this service cannot read. Go back to the application and sign in again.',
  failed: 'Sign-in with your identity provider failed.',
} as const;

/** Why a federation error page is shown. */
export type FederationPageCause = keyof typeof MESSAGES;

/**
 * An HTML error page for a federated sign-in that cannot go back to an app: its state is unknown, replayed, expired or
 * from another browser, so there is no trusted redirect URI to send an OAuth error to (RFC 6749 §4.1.2.1).
 * `detail` is a fixed sentence from FederationError, shown under the cause.
 */
export function federationErrorPage(c: Context<AppEnv>, cause: FederationPageCause, detail?: string): Promise<Response> {
  return render(
    c,
    <Layout title="Sign-in failed">
      <Alert kind="error" id="page-error">
        <p>{MESSAGES[cause]}</p>
        {detail ? <p>{detail}</p> : null}
      </Alert>
      <p>
        <a href="/login">Go to the sign-in page</a>
      </p>
    </Layout>,
    { status: 400 },
  );
}
