import { Hono, type Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import { database, type Database } from '../../db.ts';
import { csrfToken } from '../csrf.ts';
import { signupCodeMail } from '../mail/messages.ts';
import { mailSender } from '../mail/sender.ts';
import { confirmSignup } from '../store/user-auth.ts';
import { findUserByUsername, type User } from '../store/users.ts';
import { consumeVerificationCode, issueVerificationCode } from '../store/verification.ts';
import { openCarriedRequest } from './complete.ts';
import { checkEmail, normaliseCode, readForm } from './forms.ts';
import { Layout, render, type RenderOptions } from './page.tsx';
import { Alert, Field, HiddenState, pageHref } from './ui.tsx';

const INVALID_CODE = 'Invalid verification code provided, please try again.';
const SENT = 'If an account with that email address is waiting for confirmation, we have sent it a 6-digit code.';

/** The confirm form; one form with two buttons so that "send a new code" works without JavaScript. */
function ConfirmPage(p: { csrf: string; request?: string | undefined; email?: string | undefined; notice?: string | undefined; error?: string | undefined; fields?: { email?: string | undefined; code?: string | undefined } }) {
  return (
    <Layout title="Confirm your email address">
      {p.error ? <Alert kind="error" id="form-error">{p.error}</Alert> : null}
      {p.notice ? <Alert kind="info">{p.notice}</Alert> : null}
      <p>Enter the 6-digit code we emailed you. It is valid for 24 hours.</p>
      <form method="post" action="/confirm">
        <HiddenState csrf={p.csrf} request={p.request} />
        <Field name="email" label="Email address" type="email" autocomplete="username" value={p.email} error={p.fields?.email} autofocus={!p.email} />
        <Field
          name="code"
          label="Verification code"
          autocomplete="one-time-code"
          inputmode="numeric"
          maxlength={12}
          error={p.fields?.code}
          describedBy={p.error ? 'form-error' : undefined}
          autofocus={Boolean(p.email)}
        />
        <button type="submit" name="action" value="confirm">Confirm account</button>
        <p>
          Didn't get it? <button type="submit" name="action" value="resend" class="link" formnovalidate>Send a new code</button>
        </p>
      </form>
      <nav>
        <p><a href={pageHref('/login', p.request)}>Back to sign in</a></p>
      </nav>
    </Layout>
  );
}

/** Renders the confirm page (also the answer to a sign-up, and to a sign-in by an unconfirmed user). */
export async function renderConfirm(c: Context<AppEnv>, p: { request?: string | undefined; email?: string | undefined; notice?: string | undefined; error?: string | undefined; fields?: { email?: string; code?: string } }, opts: RenderOptions = {}): Promise<Response> {
  return render(c, <ConfirmPage csrf={await csrfToken(c)} {...p} />, opts);
}

/** Mails a fresh sign-up code to an unconfirmed user, unless one was sent moments ago. */
export async function sendSignupCode(c: Context<AppEnv>, db: Database, user: User): Promise<void> {
  const code = await issueVerificationCode(db, user.id, 'signup');
  if (code) await mailSender(c.env, db).send(signupCodeMail(user.email, code));
}

/**
 * `GET|POST /confirm`: confirms a self-service sign-up with the emailed code, then continues to sign-in carrying the
 * authorize request. Every failure reads the same, so the page does not reveal which addresses have accounts.
 */
export const confirm = new Hono<AppEnv>()
  .get('/confirm', async (c) => {
    const carried = await openCarriedRequest(c, database(c.env.DB), c.req.query('request'));
    if (carried instanceof Response) return carried;
    return renderConfirm(c, { request: carried?.sealed });
  })
  .post('/confirm', async (c) => {
    const form = await readForm(c);
    if (form instanceof Response) return form;
    const db = database(c.env.DB);
    const carried = await openCarriedRequest(c, db, form.request);
    if (carried instanceof Response) return carried;
    const request = carried?.sealed;
    const email = checkEmail(form.email);
    if (!email.ok) return renderConfirm(c, { request, email: form.email, fields: { email: email.message } }, { status: 400 });
    const user = await findUserByUsername(db, email.email);

    if (form.action === 'resend') {
      if (user && user.status === 'UNCONFIRMED' && user.enabled) await sendSignupCode(c, db, user);
      return renderConfirm(c, { request, email: email.email, notice: SENT });
    }

    const code = normaliseCode(form.code);
    if (!code) return renderConfirm(c, { request, email: email.email, fields: { code: 'Enter the 6-digit code from the email.' } }, { status: 400 });
    const ok = user !== undefined && user.status === 'UNCONFIRMED' && (await consumeVerificationCode(db, user.id, 'signup', code)) && (await confirmSignup(db, user.id));
    if (!ok) return renderConfirm(c, { request, email: email.email, error: INVALID_CODE }, { status: 400 });
    return c.redirect(pageHref('/login', request, { notice: 'confirmed' }), 303);
  });
