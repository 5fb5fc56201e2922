import { afterPasswordSet } from '../cognito/password-hooks.ts';
import { Hono, type Context } from 'hono';
import { hashPassword } from '../../../lib/password.ts';
import type { AppEnv } from '../../app-env.ts';
import { database, type Database } from '../../db.ts';
import { csrfToken } from '../csrf.ts';
import { resetCodeMail } from '../mail/messages.ts';
import { mailSender } from '../mail/sender.ts';
import { revokeUserFamilies } from '../store/refresh-tokens.ts';
import { revokeUserSessions } from '../store/sessions.ts';
import { resetPassword } from '../store/user-auth.ts';
import { findUserByUsername, type User } from '../store/users.ts';
import { consumeVerificationCode, issueVerificationCode } from '../store/verification.ts';
import { openCarriedRequest } from './complete.ts';
import { checkEmail, checkNewPassword, noticeFrom, normaliseCode, readForm, type FormFields } from './forms.ts';
import { Layout, render, type RenderOptions } from './page.tsx';
import { Alert, Field, HiddenState, pageHref } from './ui.tsx';

const INVALID_CODE = 'Invalid verification code provided, please try again.';

type ResetFields = { email?: string | undefined; code?: string | undefined; password?: string | undefined; confirm?: string | undefined };

function RequestCodePage(p: { csrf: string; request?: string | undefined; notice?: string | undefined; email?: string | undefined; fields?: ResetFields }) {
  return (
    <Layout title="Reset your password">
      {p.notice ? <Alert kind="info">{p.notice}</Alert> : null}
      <p>Enter your email address and we will send you a code to reset your password.</p>
      <form method="post" action="/forgot-password">
        <HiddenState csrf={p.csrf} request={p.request} />
        <Field name="email" label="Email address" type="email" autocomplete="username" value={p.email} error={p.fields?.email} autofocus />
        <button type="submit">Send reset code</button>
      </form>
      <nav>
        <p><a href={pageHref('/forgot-password/confirm', p.request)}>I already have a code</a></p>
        <p><a href={pageHref('/login', p.request)}>Back to sign in</a></p>
      </nav>
    </Layout>
  );
}

function ResetPage(p: { csrf: string; request?: string | undefined; notice?: string | undefined; error?: string | undefined; email?: string | undefined; fields?: ResetFields }) {
  return (
    <Layout title="Choose a new password">
      {p.error ? <Alert kind="error" id="form-error">{p.error}</Alert> : null}
      {p.notice ? <Alert kind="info">{p.notice}</Alert> : null}
      <form method="post" action="/forgot-password/confirm">
        <HiddenState csrf={p.csrf} request={p.request} />
        <Field name="email" label="Email address" type="email" autocomplete="username" value={p.email} error={p.fields?.email} autofocus={!p.email} />
        <Field name="code" label="Reset code" autocomplete="one-time-code" inputmode="numeric" maxlength={12} error={p.fields?.code} describedBy={p.error ? 'form-error' : undefined} autofocus={Boolean(p.email)} />
        <Field name="password" label="New password" type="password" autocomplete="new-password" hint="At least 8 characters. A few unrelated words make a strong password." error={p.fields?.password} />
        <Field name="confirm_password" label="Confirm new password" type="password" autocomplete="new-password" error={p.fields?.confirm} />
        <button type="submit" name="action" value="reset">Reset password</button>
        <p>
          Didn't get a code? <button type="submit" name="action" value="resend" class="link" formnovalidate>Send a new code</button>
        </p>
      </form>
      <nav>
        <p><a href={pageHref('/login', p.request)}>Back to sign in</a></p>
      </nav>
    </Layout>
  );
}

async function renderReset(c: Context<AppEnv>, p: Omit<Parameters<typeof ResetPage>[0], 'csrf'>, opts: RenderOptions = {}) {
  return render(c, <ResetPage csrf={await csrfToken(c)} {...p} />, opts);
}

/** Mails a reset code to an account that can have a password; silently nothing for anyone else (no enumeration). */
async function sendResetCode(c: Context<AppEnv>, db: Database, user: User | undefined): Promise<void> {
  if (!user || !user.enabled || user.status === 'EXTERNAL_PROVIDER') return;
  const code = await issueVerificationCode(db, user.id, 'reset');
  if (code) await mailSender(c.env, db).send(resetCodeMail(user.email, code));
}

/** Handles "send me a code" from either form: always the same answer, whether or not the account exists. */
async function requestCode(c: Context<AppEnv>, db: Database, form: FormFields, request: string | undefined): Promise<Response> {
  const email = checkEmail(form.email);
  if (!email.ok) {
    const p = { request, email: form.email, fields: { email: email.message } };
    return render(c, <RequestCodePage csrf={await csrfToken(c)} {...p} />, { status: 400 });
  }
  await sendResetCode(c, db, await findUserByUsername(db, email.email));
  const notice = `If an account exists for ${email.email}, we have sent a 6-digit code to it. Enter it below with your new password.`;
  return renderReset(c, { request, email: email.email, notice });
}

/**
 * `GET|POST /forgot-password` and `/forgot-password/confirm`: a reset code by mail, then code + new password. Success
 * confirms the account, lifts any lock-out, and signs the user out everywhere (refresh token families and login sessions).
 */
export const forgotPassword = new Hono<AppEnv>()
  .get('/forgot-password', async (c) => {
    const carried = await openCarriedRequest(c, database(c.env.DB), c.req.query('request'));
    if (carried instanceof Response) return carried;
    return render(c, <RequestCodePage csrf={await csrfToken(c)} request={carried?.sealed} notice={noticeFrom(c.req.query('notice'))} />);
  })
  .post('/forgot-password', async (c) => {
    const form = await readForm(c);
    if (form instanceof Response) return form;
    const db = database(c.env.DB);
    const carried = await openCarriedRequest(c, db, form.request);
    if (carried instanceof Response) return carried;
    return requestCode(c, db, form, carried?.sealed);
  })
  .get('/forgot-password/confirm', async (c) => {
    const carried = await openCarriedRequest(c, database(c.env.DB), c.req.query('request'));
    if (carried instanceof Response) return carried;
    return renderReset(c, { request: carried?.sealed });
  })
  .post('/forgot-password/confirm', async (c) => {
    const form = await readForm(c);
    if (form instanceof Response) return form;
    const db = database(c.env.DB);
    const carried = await openCarriedRequest(c, db, form.request);
    if (carried instanceof Response) return carried;
    const request = carried?.sealed;
    if (form.action === 'resend') return requestCode(c, db, form, request);

    const email = checkEmail(form.email);
    const code = normaliseCode(form.code);
    const passwordErrors = checkNewPassword(form.password, form.confirm_password, email.ok ? email.email : '');
    if (!email.ok || !code || passwordErrors.password || passwordErrors.confirm) {
      const fields = { email: email.ok ? undefined : email.message, code: code ? undefined : 'Enter the 6-digit code from the email.', ...passwordErrors };
      return renderReset(c, { request, email: form.email, fields }, { status: 400 });
    }
    const user = await findUserByUsername(db, email.email);
    const ok = user !== undefined && user.enabled && user.status !== 'EXTERNAL_PROVIDER' && (await consumeVerificationCode(db, user.id, 'reset', code));
    if (!user || !ok) return renderReset(c, { request, email: email.email, error: INVALID_CODE }, { status: 400 });
    await resetPassword(db, user.id, await hashPassword(form.password ?? ''));
    await afterPasswordSet(c.env, db, user, form.password ?? '', c.get('log'));
    // A reset is what people do when they fear someone else knows the password: end every existing sign-in.
    await revokeUserFamilies(db, user.id, 'signed_out');
    await revokeUserSessions(db, user.id);
    return c.redirect(pageHref('/login', request, { notice: 'password_reset' }), 303);
  });
