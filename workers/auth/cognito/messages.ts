/** The mail AdminCreateUser sends unless `MessageAction: SUPPRESS`: Cognito's invitation with the temporary password. */
import type { MailMessage } from '../mail/sender.ts';

/** The invitation with a temporary password, valid until the user chooses their own at first sign-in. */
export const invitationMail = (to: string, temporaryPassword: string): MailMessage => ({
  to,
  subject: 'Your temporary password',
  text: `An account was created for you. Your username is ${to} and your temporary password is ${temporaryPassword}\n\nSign in with it to choose your own password.`,
});
