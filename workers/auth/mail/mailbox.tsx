import { desc, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { mailOutbox } from '../../../schema/index.ts';
import type { AppEnv } from '../../app-env.ts';
import { database } from '../../db.ts';
import { notFound } from '../../errors.ts';
import { authConfig } from '../config.ts';
import { Layout, render } from '../hosted/page.tsx';

/** The most messages the mailbox lists at once. */
const LIMIT = 100;

/**
 * `GET /dev/mailbox[?to=<email>][&format=json]`: the local outbox, newest first, for people and e2e tests to read
 * codes from. It exists only with DEV_MODE=true; anywhere else it is a plain 404, as if there were no such route.
 */
export const mailbox = new Hono<AppEnv>().get('/dev/mailbox', async (c) => {
  if (!authConfig(c.env).devMode) return notFound(c);
  const to = c.req.query('to')?.trim().toLowerCase() || undefined;
  const rows = await database(c.env.DB)
    .select()
    .from(mailOutbox)
    .where(to ? eq(mailOutbox.to, to) : undefined)
    .orderBy(desc(mailOutbox.createdAt), desc(mailOutbox.id))
    .limit(LIMIT);
  const messages = rows.map((r) => ({ to: r.to, subject: r.subject, text: r.text, createdAt: new Date(r.createdAt).toISOString() }));
  if (c.req.query('format') === 'json') {
    c.header('Cache-Control', 'no-store');
    return c.json(messages);
  }
  return render(
    c,
    <Layout title="Development mailbox">
      <p>Mail the local sender wrote{to ? ` to ${to}` : ''}, newest first. This page exists only in development.</p>
      {messages.length === 0 ? <p>No messages.</p> : null}
      {messages.map((m) => (
        <article>
          <h2>{m.subject}</h2>
          <p class="hint">To {m.to} · <time datetime={m.createdAt}>{m.createdAt}</time></p>
          <pre>{m.text}</pre>
        </article>
      ))}
    </Layout>,
  );
});
