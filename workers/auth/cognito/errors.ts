/**
 * Errors of the Cognito JSON API in the shape the AWS SDKs parse (awsJson1_1): HTTP 400 with
 * `{"__type":"NotAuthorizedException","message":"…"}` and `x-amzn-errortype: NotAuthorizedException:`. This API's
 * audience is AWS clients, so it answers in their shape rather than RFC 6749 or RFC 9457; `internal` goes to logs only.
 */

/** A Cognito error: `type` is the `__type` an SDK turns into its exception class, `message` is shown to the caller. */
export class CognitoError extends Error {
  override name = 'CognitoError';
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, opts: { status?: number; internal?: string } = {}) {
    super(message, { cause: opts.internal });
    this.type = type;
    this.status = opts.status ?? 400;
  }
}

/** Cognito's one answer for a wrong or unknown username or password (user existence errors prevented). */
export const SIGN_IN_FAILED = 'Incorrect username or password.';

/** `NotAuthorizedException`: wrong credentials, a bad token, or something the caller may not do. */
export const notAuthorized = (message: string = SIGN_IN_FAILED, internal?: string) => new CognitoError('NotAuthorizedException', message, internal ? { internal } : {});

/** `InvalidParameterException`: the request is well-formed JSON but a value is missing or wrong. */
export const invalidParameter = (message: string, internal?: string) => new CognitoError('InvalidParameterException', message, internal ? { internal } : {});

/** `UserNotFoundException`, used by the admin operations (which an operator calls, so existence is no secret). */
export const userNotFound = () => new CognitoError('UserNotFoundException', 'User does not exist.');

/** `ResourceNotFoundException` for an unknown app client or user pool. */
export const resourceNotFound = (message: string) => new CognitoError('ResourceNotFoundException', message);

/** `InvalidPasswordException` with the policy's reasons. */
export const invalidPassword = (reasons: readonly string[]) =>
  new CognitoError('InvalidPasswordException', `Password did not conform with policy: ${reasons.join(' ')}`.trim());

/** `CodeMismatchException`, Cognito's wording. */
export const codeMismatch = () => new CognitoError('CodeMismatchException', 'Invalid verification code provided, please try again.');

const JSON_TYPE = 'application/x-amz-json-1.1';

/** A successful awsJson1_1 answer. */
export function cognitoJson(body: unknown, requestId: string): Response {
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { 'Content-Type': JSON_TYPE, 'x-amzn-requestid': requestId, 'Cache-Control': 'no-store' },
  });
}

/** An awsJson1_1 error answer: `__type` in the body and `x-amzn-errortype` for SDKs that read the header first. */
export function cognitoErrorResponse(err: CognitoError, requestId: string): Response {
  return new Response(JSON.stringify({ __type: err.type, message: err.message }), {
    status: err.status,
    headers: { 'Content-Type': JSON_TYPE, 'x-amzn-errortype': `${err.type}:`, 'x-amzn-requestid': requestId, 'Cache-Control': 'no-store' },
  });
}
