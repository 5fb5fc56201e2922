/** Exit codes of `gatehouse-agent`, one per kind of failure a script or an init system may want to tell apart. */
export const EXIT = {
  OK: 0,
  /** A bug or an unexpected failure. */
  INTERNAL: 1,
  /** Unknown command, missing or bad option. */
  USAGE: 2,
  /** The server does not know the one-time passcode. */
  BAD_OTP: 3,
  /** The one-time passcode was already used, has expired or was revoked: ask the operator for a new one. */
  OTP_UNUSABLE: 4,
  /** No answer from the server (DNS, connection refused, TLS, timeout). */
  UNREACHABLE: 5,
  /** The server refused the request for another reason (bad CSR, serial binding, server error) or answered nonsense. */
  REJECTED: 6,
  /** Renewal: the server refused the device credential (revoked, expired or unknown certificate). */
  DEVICE_AUTH: 7,
  /** The state directory is missing, unreadable, or already holds an enrolment. */
  STATE: 8,
} as const;

/** One of the exit codes. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure to report as one line on stderr, exiting with `code`. */
export class AgentError extends Error {
  override readonly name = 'AgentError';
  readonly code: ExitCode;

  constructor(code: ExitCode, message: string) {
    super(message);
    this.code = code;
  }
}
