import { afterPasswordSet } from '../cognito/password-hooks.ts';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { sha256Hex, timingSafeEqual } from '../../../lib/encoding.ts';
import { hashPassword } from '../../../lib/password.ts';
import type { AppEnv } from '../../app-env.ts';
import { database } from '../../db.ts';
import { csrfToken } from '../csrf.ts';
import { startSession } from '../session.ts';
import { findUserById } from '../store/user-lookup.ts';
import { completeNewPassword } from '../store/user-auth.ts';
import type { User } from '../store/users.ts';
import { issueCodeRedirect, openCarriedRequest, targetsOf, type CarriedRequest } from './complete.ts';
import { errorPage } from './error-page.tsx';
import { checkNewPassword, readForm } from './forms.ts';
import { Layout, render } from './page.tsx';
import { renderSignedIn } from './signed-in.tsx';
import { Alert, Field, HiddenState } from './ui.tsx';
import { seal, unseal } from './subkeys.ts';

/** How long a user has to choose a new password after proving the temporary one. */
const CHALLENGE_TTL_MS = 10 * 60 * 1000;

const challengeShape = z.object({ uid: z.string(), h: z.string(), exp: z.number() });

/**
 * The proof that the user just gave the right temporary password: sealed, short-lived, and bound to the temporary
 * password's hash, so it stops working once the password has changed (Cognito's NEW_PASSWORD_REQUIRED challenge).
 */
const makeChallenge = async (secret: string, user: User) =>
  seal(secret, 'new-password-challenge', { uid: user.id, h: await sha256Hex(user.passwordHash ?? ''), exp: Date.now() + CHALLENGE_TTL_MS });

function NewPasswordPage(p: { csrf: string; request?: string | undefined; challenge: string; email: string; fields?: { password?: string | undefined; confirm?: string | undefined } }) {
  return (
    <Layout title="Choose a new password">
      <Alert kind="info">Your account has a temporary password. Choose a new password to continue.</Alert>
      <form method="post" action="/new-password">
        <HiddenState csrf={p.csrf} request={p.request} />
        <input type="hidden" name="challenge" value={p.challenge} />
        <input type="hidden" name="username" autocomplete="username" value={p.email} />
        <Field name="password" label="New password" type="password" autocomplete="new-password" hint="At least 8 characters. A few unrelated words make a strong password." error={p.fields?.password} autofocus />
        <Field name="confirm_password" label="Confirm new password" type="password" autocomplete="new-password" error={p.fields?.confirm} />
        <button type="submit">Set password and sign in</button>
      </form>
    </Layout>
  );
}

/** Renders the new-password form for a user in FORCE_CHANGE_PASSWORD who just gave the right temporary password. */
export async function renderNewPassword(c: Context<AppEnv>, carried: CarriedRequest | undefined, user: User, fields?: { password?: string; confirm?: string }): Promise<Response> {
  const props = { csrf: await csrfToken(c), request: carried?.sealed, challenge: await makeChallenge(c.env.SESSION_COOKIE_KEY, user), email: user.email, fields };
  return render(c, <NewPasswordPage {...props} />, { status: fields ? 400 : 200, formTargets: targetsOf(carried) });
}

/** `POST /new-password`: completes the FORCE_CHANGE_PASSWORD challenge, signs the user in and continues the authorize request. */
export const newPassword = new Hono<AppEnv>().post('/new-password', async (c) => {
  const form = await readForm(c);
  if (form instanceof Response) return form;
  const db = database(c.env.DB);
  const carried = await openCarriedRequest(c, db, form.request);
  if (carried instanceof Response) return carried;
  const challenge = challengeShape.safeParse(await unseal(c.env.SESSION_COOKIE_KEY, 'new-password-challenge', form.challenge ?? ''));
  if (!challenge.success || challenge.data.exp <= Date.now()) return errorPage(c, 400, 'expired_request');
  const user = await findUserById(db, challenge.data.uid);
  const oldHash = user?.passwordHash;
  if (!user || !oldHash || user.status !== 'FORCE_CHANGE_PASSWORD' || !timingSafeEqual(await sha256Hex(oldHash), challenge.data.h)) {
    return errorPage(c, 400, 'expired_request');
  }
  const errors = checkNewPassword(form.password, form.confirm_password, user.email);
  if (errors.password || errors.confirm) return renderNewPassword(c, carried, user, errors);
  const updated = await completeNewPassword(db, user.id, oldHash, await hashPassword(form.password ?? ''));
  if (!updated || !updated.enabled) return errorPage(c, 400, 'expired_request');
  await afterPasswordSet(c.env, db, updated, form.password ?? '', c.get('log'));
  const session = await startSession(c, db, updated);
  if (carried) return issueCodeRedirect(c, db, carried.request, updated, session.authTime);
  return renderSignedIn(c, updated);
});
