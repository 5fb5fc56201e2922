import type { Context } from 'hono';
import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import { bytesToBase64, utf8 } from '../../../lib/encoding.ts';
import type { AppEnv } from '../../app-env.ts';

/** The one stylesheet of the hosted pages, inline so a page is a single response; the CSP allows it by hash. */
const CSS = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f4f6;color:#111827}
main{max-width:26rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.5rem;margin:0 0 1.25rem}
p{margin:.5rem 0 1rem}
label{display:block;font-weight:600;margin:1rem 0 .25rem}
input{width:100%;padding:.6rem .7rem;font:inherit;border:1px solid #6b7280;border-radius:.375rem}
input:focus{outline:3px solid #93c5fd;outline-offset:1px;border-color:#1d4ed8}
input[aria-invalid=true]{border-color:#b91c1c}
button{margin-top:1.5rem;width:100%;padding:.7rem;font:inherit;font-weight:600;color:#fff;background:#1d4ed8;border:0;border-radius:.375rem;cursor:pointer}
button:hover{background:#1e40af}
button.link{width:auto;margin:0;padding:0;color:#1d4ed8;background:none;font-weight:400;text-decoration:underline}
a{color:#1d4ed8}
.hint{font-size:.875rem;color:#4b5563;margin:.25rem 0 0}
.field-error{font-size:.875rem;color:#b91c1c;margin:.25rem 0 0}
.alert{padding:.75rem 1rem;border-radius:.375rem;margin:0 0 1rem}
.alert.error{background:#fef2f2;color:#991b1b;border:1px solid #fecaca}
.alert.info{background:#eff6ff;color:#1e3a8a;border:1px solid #bfdbfe}
.alert ul{margin:.25rem 0 0;padding-left:1.25rem}
nav{margin-top:1.5rem;font-size:.9375rem}
nav p{margin:.25rem 0}
pre{white-space:pre-wrap;background:#f9fafb;padding:.75rem;border-radius:.375rem}
`.trim();

let styleHash: Promise<string> | undefined;

/** CSP 3 §8.4: the `'sha256-…'` source of the stylesheet, computed once per isolate. */
const cssSource = () =>
  (styleHash ??= crypto.subtle.digest('SHA-256', utf8(CSS)).then((d) => `'sha256-${bytesToBase64(new Uint8Array(d))}'`));

/** The page shell: one landmark, one h1 (the title), a language, and the stylesheet. */
export function Layout(props: { title: string; children?: Child }) {
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="robots" content="noindex" />
          <title>{`${props.title} · Gatehouse`}</title>
          <style>{raw(CSS)}</style>
        </head>
        <body>
          <main>
            <h1>{props.title}</h1>
            {props.children}
          </main>
        </body>
      </html>
    </>
  );
}

/** Options for a rendered page: its status and any extra `form-action` sources (see `render`). */
export type RenderOptions = { status?: 200 | 400 | 403 | 404 | 429; formTargets?: string[] };

/**
 * Sends a page with its own CSP: no script at all, the stylesheet by hash, and forms that may post only to this origin.
 * A sign-in form's POST answers with a redirect to the client, and browsers check that redirect against
 * `form-action` too (CSP 3 §6.3.2.2), so the client's redirect origin is listed when the form can lead there.
 * Pages are `no-store`: they carry CSRF tokens and personal data.
 */
export async function render(c: Context<AppEnv>, node: Child, opts: RenderOptions = {}): Promise<Response> {
  const formAction = ["'self'", ...(opts.formTargets ?? [])].join(' ');
  c.header(
    'Content-Security-Policy',
    `default-src 'none'; style-src ${await cssSource()}; form-action ${formAction}; base-uri 'none'; frame-ancestors 'none'`,
  );
  c.header('Cache-Control', 'no-store');
  return c.html(String(await node), opts.status ?? 200);
}

/** The CSP source that covers a redirect URI: its origin, or its scheme for a custom-scheme (native app) URI. */
export function formTargetFor(redirectUri: string): string | undefined {
  try {
    const url = new URL(redirectUri);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
    return /^[a-z][a-z0-9+.-]*:$/i.test(url.protocol) ? url.protocol : undefined;
  } catch {
    return undefined;
  }
}
