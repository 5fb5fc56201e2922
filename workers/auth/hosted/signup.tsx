import { Hono, type Context } from 'hono';
import { createMultiFernet, type MultiFernet } from '../../../lib/fernet.ts';
import { hashPassword } from '../../../lib/password.ts';
import type { AppEnv } from '../../app-env.ts';
import { database, type Database } from '../../db.ts';
import { authConfig } from '../config.ts';
import { csrfToken } from '../csrf.ts';
import { alreadyRegisteredMail } from '../mail/messages.ts';
import { mailSender } from '../mail/sender.ts';
import { replaceUnconfirmedPassword } from '../store/user-auth.ts';
import { afterPasswordSet } from '../cognito/password-hooks.ts';
import { createUser, findUserByUsername, type User } from '../store/users.ts';
import { openCarriedRequest } from './complete.ts';
import { renderConfirm, sendSignupCode } from './confirm.tsx';
import { errorPage } from './error-page.tsx';
import { checkEmail, checkNewPassword, readForm } from './forms.ts';
import { Layout, render, type RenderOptions } from './page.tsx';
import { Field, HiddenState, pageHref } from './ui.tsx';

const fernets = new Map<string, MultiFernet>();

/** The claims key ring for a `CLAIMS_FERNET_KEYS` value, built once per isolate. */
function fernetFor(keys: string): MultiFernet {
  let ring = fernets.get(keys);
  if (!ring) {
    ring = createMultiFernet(keys);
    fernets.set(keys, ring);
  }
  return ring;
}

type SignupFields = { email?: string | undefined; password?: string | undefined; confirm?: string | undefined };

function SignupPage(p: { csrf: string; request?: string | undefined; email?: string | undefined; fields?: SignupFields }) {
  return (
    <Layout title="Create an account">
      <form method="post" action="/signup">
        <HiddenState csrf={p.csrf} request={p.request} />
        <Field name="email" label="Email address" type="email" autocomplete="username" value={p.email} error={p.fields?.email} autofocus />
        <Field name="password" label="Password" type="password" autocomplete="new-password" hint="At least 8 characters. A few unrelated words make a strong password." error={p.fields?.password} />
        <Field name="confirm_password" label="Confirm password" type="password" autocomplete="new-password" error={p.fields?.confirm} />
        <button type="submit">Sign up</button>
      </form>
      <nav>
        <p>Already have an account? <a href={pageHref('/login', p.request)}>Sign in</a></p>
      </nav>
    </Layout>
  );
}

async function renderSignup(c: Context<AppEnv>, p: { request?: string | undefined; email?: string | undefined; fields?: SignupFields }, opts: RenderOptions = {}) {
  return render(c, <SignupPage csrf={await csrfToken(c)} {...p} />, opts);
}

/**
 * Registers the address, or deals with an existing account in a way the visitor cannot tell apart: every path does
 * one password hash and ends on the same page. A repeated sign-up of an unconfirmed account replaces its password
 * (the latest sign-up wins; the account is unusable until the mailbox owner confirms it); a confirmed owner gets a
 * "someone tried to sign up" mail instead of a code.
 */
async function register(c: Context<AppEnv>, db: Database, email: string, password: string): Promise<void> {
  const existing = await findUserByUsername(db, email);
  let user: User | undefined;
  if (!existing) {
    try {
      // No groups and no claims: a self-registered user gets roles only from the token side's defaults.
      user = await createUser(db, fernetFor(c.env.CLAIMS_FERNET_KEYS), { email, password, status: 'UNCONFIRMED' });
    } catch (err) {
      // A parallel sign-up of the same address won the unique index: carry on as for an existing account.
      if (!(await findUserByUsername(db, email))) throw err;
    }
    if (user) {
      await afterPasswordSet(c.env, db, user, password, c.get('log'));
      return sendSignupCode(c, db, user);
    }
  }
  const current = existing ?? (await findUserByUsername(db, email));
  const hash = await hashPassword(password);
  if (!current) return;
  if (current.status === 'UNCONFIRMED' && (await replaceUnconfirmedPassword(db, current.id, hash))) {
    await afterPasswordSet(c.env, db, current, password, c.get('log'));
    return sendSignupCode(c, db, current);
  }
  await mailSender(c.env, db).send(alreadyRegisteredMail(current.email));
}

/** `GET|POST /signup`: self-service sign-up (when SIGNUP_ENABLED), ending on the confirm page. */
export const signup = new Hono<AppEnv>()
  .use('/signup', async (c, next) => (authConfig(c.env).signupEnabled ? next() : errorPage(c, 404, 'signup_disabled')))
  .get('/signup', async (c) => {
    const carried = await openCarriedRequest(c, database(c.env.DB), c.req.query('request'));
    if (carried instanceof Response) return carried;
    return renderSignup(c, { request: carried?.sealed });
  })
  .post('/signup', async (c) => {
    const form = await readForm(c);
    if (form instanceof Response) return form;
    const db = database(c.env.DB);
    const carried = await openCarriedRequest(c, db, form.request);
    if (carried instanceof Response) return carried;
    const request = carried?.sealed;
    const email = checkEmail(form.email);
    const passwordErrors = checkNewPassword(form.password, form.confirm_password, email.ok ? email.email : '');
    if (!email.ok || passwordErrors.password || passwordErrors.confirm) {
      const fields = { email: email.ok ? undefined : email.message, ...passwordErrors };
      return renderSignup(c, { request, email: form.email, fields }, { status: 400 });
    }
    await register(c, db, email.email, form.password ?? '');
    const notice = `We sent a message to ${email.email}. Enter the 6-digit code from it to confirm your account.`;
    return renderConfirm(c, { request, email: email.email, notice });
  });
