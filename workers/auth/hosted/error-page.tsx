import type { Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { Layout, render } from './page.tsx';
import { Alert } from './ui.tsx';

/** The messages of the error pages, by cause; fixed texts, never the request's own input. */
const MESSAGES = {
  unknown_client: 'This sign-in link is not valid: the application is not registered here.',
  missing_client: 'This sign-in link is not valid: it does not name an application (client_id).',
  bad_redirect: 'This sign-in link is not valid: its return address (redirect_uri) is not registered for the application.',
  bad_logout_redirect: 'The address to return to after signing out is not registered for the application.',
  bad_id_token_hint: 'The sign-out request is not valid: its id_token_hint was not issued here for this application.',
  expired_request: 'This sign-in request has expired or was changed. Go back to the application and sign in again.',
  csrf: 'This form expired or was not sent from this site. Go back, reload the page and try again.',
  signup_disabled: 'Self-service sign-up is not available. Ask your administrator for an account.',
  not_found: 'There is nothing here.',
} as const;

/** Why an error page is shown. */
export type ErrorCause = keyof typeof MESSAGES;

const TITLES: Record<number, string> = { 400: 'Something went wrong', 403: 'Request refused', 404: 'Page not found' };

/**
 * An HTML error page for a mistake that must not be redirected (an unknown client or unregistered redirect URI,
 * RFC 6749 §4.1.2.1), or a refused form post.
 */
export function errorPage(c: Context<AppEnv>, status: 400 | 403 | 404, cause: ErrorCause): Promise<Response> {
  return render(
    c,
    <Layout title={TITLES[status] ?? 'Something went wrong'}>
      <Alert kind="error" id="page-error">
        <p>{MESSAGES[cause]}</p>
      </Alert>
      <p>
        <a href="/login">Go to the sign-in page</a>
      </p>
    </Layout>,
    { status },
  );
}
