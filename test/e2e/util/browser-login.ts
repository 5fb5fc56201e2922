/**
 * Drives the hosted pages the way a browser without JavaScript would, with plain `fetch` and a tiny cookie jar:
 * follow the authorize redirects, fill the sign-in form (keeping its hidden CSRF token and sealed request), and stop
 * at the client's redirect_uri. Also signs users up through the pages and the dev mailbox, so e2e tests can make
 * their own users over HTTP.
 */

/** Email and password of a hosted-page user. */
export type Credentials = { email: string; password: string };

/** Cookies for one origin, as a browser would keep them (name → value; path and expiry are not needed here). */
export function cookieJar() {
  const cookies = new Map<string, string>();
  return {
    cookies,
    /** The `Cookie` header to send. */
    header: () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    /** Stores a response's `Set-Cookie` headers (an empty value or Max-Age=0 deletes). */
    store(res: Response) {
      for (const line of res.headers.getSetCookie()) {
        const [pair = ''] = line.split(';');
        const at = pair.indexOf('=');
        const name = pair.slice(0, at).trim();
        const value = pair.slice(at + 1).trim();
        if (!value || /;\s*max-age=0/i.test(line)) cookies.delete(name);
        else cookies.set(name, value);
      }
    },
  };
}

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The forms of an HTML page: action and hidden inputs (the hosted pages' markup is regular enough for regexes). */
export function parseForms(html: string): { action: string; hidden: Record<string, string> }[] {
  return [...html.matchAll(/<form\b[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)].map((m) => {
    const hidden: Record<string, string> = {};
    for (const tag of (m[2] ?? '').match(/<input\b[^>]*>/g) ?? []) {
      const attrs = Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1] ?? '', unescape(a[2] ?? '')]));
      if (attrs.type === 'hidden' && attrs.name) hidden[attrs.name] = attrs.value ?? '';
    }
    return { action: unescape(m[1] ?? ''), hidden };
  });
}

/** What a page said when the flow stopped somewhere unexpected: its heading and alert, for the error message. */
const describePage = (html: string) =>
  [/<h1>([\s\S]*?)<\/h1>/.exec(html)?.[1], /role="alert">([\s\S]*?)<\/div>/.exec(html)?.[1]]
    .filter(Boolean)
    .map((s) => unescape((s ?? '').replace(/<[^>]+>/g, '').trim()))
    .join(': ');

/** A fetch against the Worker that keeps cookies and never follows redirects by itself. */
function session(origin: string, jar = cookieJar()) {
  return async (url: URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (url.origin === origin && jar.cookies.size) headers.set('Cookie', jar.header());
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    if (url.origin === origin) jar.store(res);
    return res;
  };
}

const postForm = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  body: new URLSearchParams(fields),
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
});

/**
 * Runs the browser-style code flow from an authorize URL and returns the URL the server finally sent the browser to:
 * the client's redirect_uri with `code` and `state` (or `error`). Throws, naming the page, if the flow stops elsewhere.
 */
export async function browserLogin(authorizeUrl: string, creds: Credentials): Promise<URL> {
  const start = new URL(authorizeUrl);
  const redirectUri = start.searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error('the authorize URL has no redirect_uri');
  const target = new URL(redirectUri);
  const atTarget = (u: URL) => u.origin === target.origin && u.pathname === target.pathname;
  const send = session(start.origin);
  let url = start;
  let init: RequestInit = {};
  let submitted = false;
  for (let step = 0; step < 10; step++) {
    const res = await send(url, init);
    init = {};
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      url = new URL(location, url);
      if (atTarget(url)) return url;
      continue;
    }
    const html = await res.text();
    const form = parseForms(html).find((f) => f.action === '/login');
    if (res.status !== 200 || !form || submitted) throw new Error(`sign-in stopped at ${url.pathname} (HTTP ${res.status}): ${describePage(html)}`);
    url = new URL(form.action, url);
    init = postForm({ ...form.hidden, email: creds.email, password: creds.password });
    submitted = true;
  }
  throw new Error('too many redirects during sign-in');
}

/** The newest 6-digit code mailed to an address, read from the dev mailbox (DEV_MODE=true). */
export async function mailedCode(baseUrl: string, email: string): Promise<string> {
  const res = await fetch(`${baseUrl}/dev/mailbox?format=json&to=${encodeURIComponent(email)}`);
  if (!res.ok) throw new Error(`the dev mailbox answered HTTP ${res.status} (is DEV_MODE on?)`);
  const [latest] = (await res.json()) as { text: string }[];
  const code = /\b(\d{6})\b/.exec(latest?.text ?? '')?.[1];
  if (!code) throw new Error(`no code was mailed to ${email}`);
  return code;
}

/** Signs a new user up through the hosted pages and confirms them with the mailed code: a CONFIRMED user, made over HTTP. */
export async function signUpUser(baseUrl: string, creds: Credentials): Promise<void> {
  const origin = new URL(baseUrl).origin;
  const send = session(origin);
  const page = await send(new URL('/signup', origin));
  const signupForm = parseForms(await page.text()).find((f) => f.action === '/signup');
  if (!signupForm) throw new Error(`no sign-up form (HTTP ${page.status}; is SIGNUP_ENABLED on?)`);
  const confirmPage = await send(new URL('/signup', origin), postForm({ ...signupForm.hidden, email: creds.email, password: creds.password, confirm_password: creds.password }));
  const confirmHtml = await confirmPage.text();
  const confirmForm = parseForms(confirmHtml).find((f) => f.action === '/confirm');
  if (!confirmForm) throw new Error(`sign-up failed (HTTP ${confirmPage.status}): ${describePage(confirmHtml)}`);
  const code = await mailedCode(baseUrl, creds.email);
  const done = await send(new URL('/confirm', origin), postForm({ ...confirmForm.hidden, email: creds.email, code, action: 'confirm' }));
  if (done.status !== 303) throw new Error(`confirmation failed (HTTP ${done.status}): ${describePage(await done.text())}`);
}
