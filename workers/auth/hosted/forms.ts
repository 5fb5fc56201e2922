import type { Context } from 'hono';
import { z } from 'zod';
import { checkPasswordPolicy, MAX_PASSWORD_LENGTH } from '../../../lib/password.ts';
import type { AppEnv } from '../../app-env.ts';
import { verifyCsrf } from '../csrf.ts';
import { errorPage } from './error-page.tsx';

/** A submitted hosted form: its text fields (files and repeated fields are dropped: no form here has them). */
export type FormFields = Record<string, string | undefined>;

/**
 * Reads an `application/x-www-form-urlencoded` (or multipart) body and checks its CSRF token; a missing or wrong
 * token answers with a 403 page. Anything that is not a form reads as empty and so fails the CSRF check.
 */
export async function readForm(c: Context<AppEnv>): Promise<FormFields | Response> {
  let body: Record<string, unknown> = {};
  try {
    body = await c.req.parseBody();
  } catch {
    body = {};
  }
  const fields: FormFields = {};
  for (const [name, value] of Object.entries(body)) if (typeof value === 'string') fields[name] = value;
  if (!(await verifyCsrf(c, fields.csrf))) {
    c.get('log')?.warn('csrf check failed', { path: c.req.path });
    return errorPage(c, 403, 'csrf');
  }
  return fields;
}

const emailSchema = z.email().max(254);

/** Checks an email field; the normalised (trimmed, lower-cased) address, or the message to show. */
export function checkEmail(value: string | undefined): { ok: true; email: string } | { ok: false; message: string } {
  const email = (value ?? '').trim().toLowerCase();
  if (!email) return { ok: false, message: 'Enter your email address.' };
  if (!emailSchema.safeParse(email).success) return { ok: false, message: 'Enter an email address like name@example.com.' };
  return { ok: true, email };
}

/** Checks a new password and its confirmation against the policy (lib/password.ts); the messages to show, if any. */
export function checkNewPassword(password: string | undefined, confirm: string | undefined, email: string): { password?: string; confirm?: string } {
  if (!password) return { password: 'Enter a password.' };
  if (password.length > MAX_PASSWORD_LENGTH * 4) return { password: `Use at most ${MAX_PASSWORD_LENGTH} characters.` };
  const policy = checkPasswordPolicy(password, { email });
  const errors: { password?: string; confirm?: string } = {};
  if (!policy.ok) errors.password = policy.reasons.join(' ');
  if (password !== confirm) errors.confirm = 'The passwords do not match.';
  return errors;
}

/** Six digits, with spaces people paste from mail removed. */
export function normaliseCode(value: string | undefined): string | undefined {
  const code = (value ?? '').replace(/\s+/g, '');
  return /^\d{6}$/.test(code) ? code : undefined;
}

/** The notices a hosted page can be asked (by a fixed key, never free text) to show. */
export const NOTICES = {
  confirmed: 'Your email address is confirmed. You can sign in now.',
  password_reset: 'Your password has been changed. Sign in with your new password.',
  reset_required: 'You need to set a new password before you can sign in. Enter your email address to get a reset code.',
  signed_out: 'You have signed out.',
} as const;

/** A notice key from a query string, if it is one of ours. */
export const noticeFrom = (value: string | undefined): string | undefined =>
  value && Object.hasOwn(NOTICES, value) ? NOTICES[value as keyof typeof NOTICES] : undefined;
