import { Hono, type Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { database } from '../../db.ts';
import { authConfig } from '../config.ts';
import { csrfToken } from '../csrf.ts';
import { ProviderLinks } from '../federation/buttons.tsx';
import { identityProviders, type IdentityProvider } from '../federation/config.ts';
import { startSession } from '../session.ts';
import { migrateBeforeSignIn } from '../cognito/lazy-migration.ts';
import { afterPasswordSignIn } from '../cognito/password-hooks.ts';
import { signIn } from '../signin.ts';
import { issueCodeRedirect, openCarriedRequest, targetsOf, type CarriedRequest } from './complete.ts';
import { renderConfirm, sendSignupCode } from './confirm.tsx';
import { noticeFrom, readForm } from './forms.ts';
import { renderNewPassword } from './new-password.tsx';
import { Layout, render, type RenderOptions } from './page.tsx';
import { renderSignedIn } from './signed-in.tsx';
import { Alert, Field, HiddenState, pageHref } from './ui.tsx';

/** Cognito's wording, the same for an unknown user, a wrong password, a lock-out and a disabled account. */
export const SIGN_IN_FAILED = 'Incorrect username or password.';

type LoginProps = {
  csrf: string;
  request?: string | undefined;
  email?: string | undefined;
  notice?: string | undefined;
  error?: string | undefined;
  /** Why a "Sign in with …" attempt failed; shown above the links, not tied to the password fields. */
  providerError?: string | undefined;
  fields?: { email?: string | undefined; password?: string | undefined };
  signupEnabled: boolean;
  providers: readonly IdentityProvider[];
};

function LoginPage(p: LoginProps) {
  const formError = p.error ? 'form-error' : undefined;
  return (
    <Layout title="Sign in">
      {p.error ? <Alert kind="error" id="form-error">{p.error}</Alert> : null}
      {p.notice ? <Alert kind="info">{p.notice}</Alert> : null}
      {p.providerError ? <Alert kind="error" id="provider-error">{p.providerError}</Alert> : null}
      <ProviderLinks providers={p.providers} request={p.request} />
      <form method="post" action="/login">
        <HiddenState csrf={p.csrf} request={p.request} />
        <Field name="email" label="Email address" type="email" autocomplete="username" value={p.email} error={p.fields?.email} describedBy={formError} autofocus={!p.email} />
        <Field name="password" label="Password" type="password" autocomplete="current-password" error={p.fields?.password} describedBy={formError} autofocus={Boolean(p.email)} />
        <button type="submit">Sign in</button>
      </form>
      <nav aria-label="Other options">
        <p><a href={pageHref('/forgot-password', p.request)}>Forgot your password?</a></p>
        {p.signupEnabled ? <p>Need an account? <a href={pageHref('/signup', p.request)}>Sign up</a></p> : null}
      </nav>
    </Layout>
  );
}

/** Renders the sign-in page (with a "Sign in with …" link per configured identity provider) for a carried request, if any. */
export async function renderLogin(c: Context<AppEnv>, carried: CarriedRequest | undefined, p: Omit<LoginProps, 'csrf' | 'request' | 'signupEnabled' | 'providers'>, opts: RenderOptions = {}) {
  const props = { ...p, csrf: await csrfToken(c), request: carried?.sealed, signupEnabled: authConfig(c.env).signupEnabled, providers: identityProviders(c.env) };
  return render(c, <LoginPage {...props} />, { ...opts, formTargets: targetsOf(carried) });
}

/**
 * `GET|POST /login`: the hosted sign-in. Success starts a login session and continues the carried authorize request
 * (a code redirect), or shows a signed-in page when there is none. Every failure shows one generic message.
 */
export const login = new Hono<AppEnv>()
  .get('/login', async (c) => {
    // Cognito's hosted UI accepts the authorize parameters on /login itself: hand them to the authorization endpoint.
    if (c.req.query('client_id') !== undefined && c.req.query('request') === undefined) {
      return c.redirect(`/oauth2/authorize${new URL(c.req.url).search}`, 302);
    }
    const carried = await openCarriedRequest(c, database(c.env.DB), c.req.query('request'));
    if (carried instanceof Response) return carried;
    return renderLogin(c, carried, { notice: noticeFrom(c.req.query('notice')) });
  })
  .post('/login', async (c) => {
    const form = await readForm(c);
    if (form instanceof Response) return form;
    const db = database(c.env.DB);
    const carried = await openCarriedRequest(c, db, form.request);
    if (carried instanceof Response) return carried;
    const email = (form.email ?? '').trim();
    const password = form.password ?? '';
    if (!email || !password) {
      const fields = { email: email ? undefined : 'Enter your email address.', password: password ? undefined : 'Enter your password.' };
      return renderLogin(c, carried, { email, fields }, { status: 400 });
    }

    const config = authConfig(c.env);
    const ip = c.req.header('CF-Connecting-IP');
    // Lazy migration (when configured) creates an unknown user from the old Cognito pool before the local check.
    await migrateBeforeSignIn(c.env, db, c.get('log'), { username: email, password, ip });
    const outcome = await signIn(db, config, { email, password, ip });
    switch (outcome.kind) {
      case 'failed':
        c.get('log').info('sign-in failed', { reason: outcome.reason });
        return renderLogin(c, carried, { email, error: SIGN_IN_FAILED }, { status: 400 });
      case 'unconfirmed':
        await sendSignupCode(c, db, outcome.user);
        return renderConfirm(c, { request: carried?.sealed, email: outcome.user.email, notice: 'Confirm your email address before you sign in: enter the code we emailed you.' });
      case 'new_password_required':
        await afterPasswordSignIn(c.env, db, outcome.user, password, c.get('log'));
        return renderNewPassword(c, carried, outcome.user);
      case 'reset_required':
        return c.redirect(pageHref('/forgot-password', carried?.sealed, { notice: 'reset_required' }), 303);
      case 'ok': {
        // Keeps an SRP verifier for the Cognito API's USER_SRP_AUTH in step with the password.
        await afterPasswordSignIn(c.env, db, outcome.user, password, c.get('log'));
        const session = await startSession(c, db, outcome.user);
        c.get('log').info('signed in', { userId: outcome.user.id, clientId: carried?.client.id });
        if (carried) return issueCodeRedirect(c, db, carried.request, outcome.user, session.authTime);
        return renderSignedIn(c, outcome.user);
      }
    }
  });
