/**
 * The texts of the mails the hosted pages send. Plain text only: no links that carry codes, so a code is typed, never
 * clicked (a scanner that follows links cannot consume it).
 */
import type { MailMessage } from './sender.ts';

/** The sign-up confirmation code. */
export const signupCodeMail = (to: string, code: string): MailMessage => ({
  to,
  subject: 'Your verification code',
  text: `Your verification code is ${code}.\n\nEnter it on the confirmation page to finish creating your account. It expires in 24 hours.\n\nIf you did not sign up, ignore this message.`,
});

/** Sent instead of a code when someone signs up with an address that already has an account. */
export const alreadyRegisteredMail = (to: string): MailMessage => ({
  to,
  subject: 'Someone tried to sign up with your email address',
  text: 'Someone tried to create an account with this email address, which already has one.\n\nIf it was you, sign in instead, or use "Forgot your password?" to choose a new password. If it was not you, no action is needed.',
});

/** The password reset code. */
export const resetCodeMail = (to: string, code: string): MailMessage => ({
  to,
  subject: 'Your password reset code',
  text: `Your password reset code is ${code}.\n\nEnter it with your new password to reset your password. It expires in 24 hours.\n\nIf you did not ask for a reset, ignore this message: your password has not changed.`,
});
