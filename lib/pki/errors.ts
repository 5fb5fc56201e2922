/**
 * Typed failures of the PKI core. Each carries a short, fixed public message that a route may put on the wire
 * (RFC 7030 §4.2.3 allows a short text body with a 4xx); the optional `detail` is for logs only and never for the wire.
 */

/** Base class of every PKI failure, so a handler can catch them all with one `instanceof`. */
export class PkiError extends Error {
  override readonly name: string = 'PkiError';
  /** Internal explanation for logs; may name the parser's complaint, so it never goes on the wire. */
  readonly detail: string | undefined;

  constructor(message: string, detail?: string) {
    super(message);
    this.detail = detail;
  }
}

/** Why a certificate request was refused. */
export type CsrRejectReason = 'too_large' | 'malformed' | 'bad_signature' | 'key_not_allowed' | 'bad_subject';

const CSR_MESSAGES: Record<CsrRejectReason, string> = {
  too_large: 'certificate request too large',
  malformed: 'malformed certificate request',
  bad_signature: 'certificate request signature does not verify',
  key_not_allowed: 'key type not allowed (use ECDSA P-256/P-384, Ed25519 or RSA of at least 2048 bits)',
  bad_subject: 'certificate request subject not acceptable',
};

/** The PKCS#10 request is refused (answer 400 with `message` as the body). */
export class CsrRejected extends PkiError {
  override readonly name = 'CsrRejected';
  readonly reason: CsrRejectReason;

  constructor(reason: CsrRejectReason, detail?: string) {
    super(CSR_MESSAGES[reason], detail);
    this.reason = reason;
  }
}

/** Why a presented certificate chain was refused. */
export type ChainRejectReason = 'malformed' | 'untrusted' | 'expired' | 'not_yet_valid' | 'not_device_certificate';

const CHAIN_MESSAGES: Record<ChainRejectReason, string> = {
  malformed: 'malformed certificate chain',
  untrusted: 'certificate not issued by this authority',
  expired: 'certificate expired',
  not_yet_valid: 'certificate not yet valid',
  not_device_certificate: 'certificate is not a device client certificate',
};

/** The device's `x5c` chain does not lead to the configured CA (answer 401). */
export class ChainRejected extends PkiError {
  override readonly name = 'ChainRejected';
  readonly reason: ChainRejectReason;

  constructor(reason: ChainRejectReason, detail?: string) {
    super(CHAIN_MESSAGES[reason], detail);
    this.reason = reason;
  }
}

/** A PKCS#7 / CMS certs-only message could not be read (the agent got a bad EST answer). */
export class Pkcs7Invalid extends PkiError {
  override readonly name = 'Pkcs7Invalid';

  constructor(detail?: string) {
    super('malformed PKCS#7 certs-only message', detail);
  }
}

/** The configured CA certificate, key or chain is unusable: an operator error, answered as a generic 500. */
export class CaInvalid extends PkiError {
  override readonly name = 'CaInvalid';

  constructor(detail: string) {
    super('certificate authority misconfigured', detail);
  }
}

/** A caller passed an argument the PKI core cannot use (bad device id, serial, URL or dates): a programming error. */
export class PkiInputInvalid extends PkiError {
  override readonly name = 'PkiInputInvalid';

  constructor(detail: string) {
    super(`invalid PKI input: ${detail}`, detail);
  }
}
