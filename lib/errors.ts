/**
 * The three error shapes Gatehouse answers with, one per audience (STYLE.md rule 6). Handlers throw these; the one
 * `onError` in workers/errors.ts turns them into responses. `internal` is a reason for the logs only, never sent.
 */

/** An RFC 6749 §5.2 error for OAuth/OIDC endpoints. */
export class OAuthError extends Error {
  override name = 'OAuthError';
  readonly error: string;
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(error: string, description: string, opts: { status?: number; headers?: Record<string, string>; internal?: string } = {}) {
    super(description, { cause: opts.internal });
    this.error = error;
    this.status = opts.status ?? (error === 'invalid_client' ? 401 : 400);
    this.headers = opts.headers ?? {};
  }
}

/** An RFC 6750 §3 bearer-token failure (401 invalid_token / 400 invalid_request / 403 insufficient_scope). */
export class BearerError extends Error {
  override name = 'BearerError';
  readonly error: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  readonly status: number;
  constructor(error: BearerError['error'], description: string, opts: { internal?: string } = {}) {
    super(description, { cause: opts.internal });
    this.error = error;
    this.status = error === 'insufficient_scope' ? 403 : error === 'invalid_request' ? 400 : 401;
  }
}

/** One invalid field in a request, as reported in a problem's `errors` member. */
export type FieldError = { path: string; message: string };

/** An RFC 9457 problem for the REST API and everything else. */
export class Problem extends Error {
  override name = 'Problem';
  readonly status: number;
  readonly title: string;
  readonly type: string;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    title: string,
    opts: { detail?: string; type?: string; errors?: FieldError[]; headers?: Record<string, string>; internal?: string } = {},
  ) {
    super(opts.detail ?? title, { cause: opts.internal });
    this.status = status;
    this.title = title;
    this.type = opts.type ?? 'about:blank';
    this.errors = opts.errors;
    this.headers = opts.headers ?? {};
  }
}
