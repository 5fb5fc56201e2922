import { mailOutbox } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';

/** One plain-text message. */
export type MailMessage = { to: string; subject: string; text: string };

/**
 * The one way the identity provider sends mail. The local default writes to the `mail_outbox` table (read at the
 * dev-only `/dev/mailbox`); a real deployment plugs in a sender for its mail service by implementing this type.
 */
export type MailSender = { send(msg: MailMessage): Promise<void> };

/** The local sender: each message becomes an outbox row. Nothing leaves the platform. */
export const outboxSender = (db: Database): MailSender => ({
  async send(msg) {
    await db.insert(mailOutbox).values({ to: msg.to.trim().toLowerCase(), subject: msg.subject, text: msg.text, createdAt: Date.now() });
  },
});

/**
 * The sender the hosted pages use. Today that is always the outbox; a real sender (for example one built on a
 * `send_email` binding or an HTTPS mail API) would be chosen here from `env`.
 */
export const mailSender = (_env: Env, db: Database): MailSender => outboxSender(db);
