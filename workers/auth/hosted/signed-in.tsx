import type { Context } from 'hono';
import type { AppEnv } from '../../app-env.ts';
import type { User } from '../store/users.ts';
import { Layout, render } from './page.tsx';

/** Shown after a sign-in that did not come from an app (someone opened /login directly). */
export function renderSignedIn(c: Context<AppEnv>, user: User): Promise<Response> {
  return render(
    c,
    <Layout title="You are signed in">
      <p>
        You are signed in as <strong>{user.email}</strong>. You can close this page or return to your application.
      </p>
      <nav>
        <p><a href="/oauth2/logout">Sign out</a></p>
      </nav>
    </Layout>,
  );
}
