/**
 * Typed failures of claim building and the pre-token step. Each one aborts the sign-in (fail closed): a token is never
 * minted with missing roles or with claims a hook did not validly produce.
 *
 * `message` is for logs (it never holds claim values, tokens or secrets). `publicMessage` is the only text a handler
 * may show on a hosted page or in an OAuth `error_description`, so the wire never learns which check failed.
 */

/** What every claims error shows the end user: the same sentence, whatever the internal reason. */
export const CLAIMS_PUBLIC_MESSAGE = 'Your account is not set up to sign in to this application. Contact your administrator.';

/** Base class of the claims errors, so a handler can map them all to one response. */
export abstract class ClaimsError extends Error {
  /** Safe for the wire; see the module comment. */
  readonly publicMessage: string = CLAIMS_PUBLIC_MESSAGE;
}

/** Thrown when a user has no Hasura role, from stored claims or groups: sign-in fails rather than mint a role-less token. */
export class NoRolesError extends ClaimsError {
  override name = 'NoRolesError';
  readonly userId: string;
  constructor(userId: string) {
    super(`no Hasura roles for user ${userId}: no stored x-hasura-allowed-roles and no group maps to a role`);
    this.userId = userId;
  }
}

/** Thrown when a pre-token hook's answer is not a valid Cognito V1 or V2 response; `issues` say where, for the logs. */
export class InvalidHookResponse extends ClaimsError {
  override name = 'InvalidHookResponse';
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`invalid pre-token hook response: ${issues.join('; ')}`);
    this.issues = issues;
  }
}

/** Thrown when a token would be minted with a lifetime or timestamps that cannot be right (a configuration bug). */
export class InvalidTokenTiming extends ClaimsError {
  override name = 'InvalidTokenTiming';
  constructor(detail: string) {
    super(`invalid token timing: ${detail}`);
  }
}
