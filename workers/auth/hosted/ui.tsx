import type { Child } from 'hono/jsx';

/** A message above a form. Errors use role=alert so screen readers announce them when the page loads. */
export function Alert(props: { kind: 'error' | 'info'; id?: string; children?: Child }) {
  return (
    <div class={`alert ${props.kind}`} id={props.id} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </div>
  );
}

/** What a form field takes; `describedBy` adds ids (e.g. a form-level alert) to the input's descriptions. */
export type FieldProps = {
  name: string;
  label: string;
  type?: 'email' | 'password' | 'text';
  autocomplete: string;
  value?: string;
  error?: string;
  hint?: string;
  describedBy?: string;
  inputmode?: 'numeric' | 'email';
  pattern?: string;
  maxlength?: number;
  autofocus?: boolean;
};

/** One labelled input with its hint and error tied to it by aria-describedby (WCAG 2.2 SC 1.3.1, 3.3.1). */
export function Field(p: FieldProps) {
  const id = `f-${p.name}`;
  const hintId = p.hint ? `${id}-hint` : undefined;
  const errorId = p.error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId, p.describedBy].filter(Boolean).join(' ') || undefined;
  return (
    <>
      <label for={id}>{p.label}</label>
      <input
        id={id}
        name={p.name}
        type={p.type ?? 'text'}
        autocomplete={p.autocomplete}
        value={p.type === 'password' ? undefined : p.value}
        required
        inputmode={p.inputmode}
        pattern={p.pattern}
        maxlength={p.maxlength}
        autofocus={p.autofocus}
        aria-invalid={p.error || p.describedBy ? 'true' : undefined}
        aria-describedby={describedBy}
      />
      {p.hint ? <p class="hint" id={hintId}>{p.hint}</p> : null}
      {p.error ? <p class="field-error" id={errorId}>{p.error}</p> : null}
    </>
  );
}

/** The hidden fields every hosted form carries: the CSRF token and, when signing in for an app, its sealed request. */
export function HiddenState(props: { csrf: string; request?: string }) {
  return (
    <>
      <input type="hidden" name="csrf" value={props.csrf} />
      {props.request ? <input type="hidden" name="request" value={props.request} /> : null}
    </>
  );
}

/** A link to another hosted page that keeps the sealed authorize request. */
export function pageHref(path: string, request: string | undefined, extra: Record<string, string> = {}): string {
  const q = new URLSearchParams(extra);
  if (request) q.set('request', request);
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}
