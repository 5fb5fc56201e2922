/**
 * The tunnel's credential from the state directory: a fresh device JWT for every connection attempt (a new `jti`, so
 * the server's replay check never refuses a retry), with `aud` = `${url}/devices/connect` as
 * workers/devices/connect.ts expects. The state is read again each time, so a renewed certificate is used at once;
 * and the certificate is renewed (EST simplereenroll, agent/renew.ts) once less than a third of its lifetime is left.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { importPrivateKeyPem } from '../csr.ts';
import { createDeviceJwt, x5cFor } from '../device-jwt.ts';
import { renewCertificate, shouldRenew } from '../renew.ts';
import { loadState } from '../state.ts';

/** How often the connected agent checks whether its certificate is due for renewal. */
export const RENEWAL_CHECK_MS = 60 * 60 * 1000;

/** Options of `stateCredential`. */
export interface StateCredentialOptions {
  /** The Gatehouse base URL the tunnel connects to (the JWT's audience is built from it). */
  readonly url: string;
  /** A renewal happened. */
  readonly onRenewed?: (notAfter: Date) => void;
  /** A renewal was due and failed; the current certificate is still used. */
  readonly onRenewalFailed?: (message: string) => void;
}

/** A credential source backed by the state directory. */
export interface StateCredential {
  /** A fresh device JWT for `GET /devices/connect`. */
  (): Promise<string>;
  /** Renews the certificate if it is due (at most one renewal runs at a time); never throws. */
  checkRenewal(): Promise<void>;
}

/** The audience of a tunnel device JWT for a Gatehouse base URL. */
export const connectAudience = (url: string): string => `${url.replace(/\/+$/, '')}/devices/connect`;

/** Builds the credential source for the state directory `dir`. */
export function stateCredential(dir: string, opts: StateCredentialOptions): StateCredential {
  let lastCheck = 0;
  let running: Promise<void> | undefined;

  async function renewIfDue(): Promise<void> {
    lastCheck = Date.now();
    try {
      const cert = new x509.X509Certificate(loadState(dir).certPem);
      if (!shouldRenew(cert)) return;
      const renewed = await renewCertificate(dir);
      opts.onRenewed?.(renewed.notAfter);
    } catch (err) {
      opts.onRenewalFailed?.(err instanceof Error ? err.message : String(err));
    }
  }

  const checkRenewal = (): Promise<void> => (running ??= renewIfDue().finally(() => (running = undefined)));

  const credential = async (): Promise<string> => {
    if (Date.now() - lastCheck >= RENEWAL_CHECK_MS) await checkRenewal();
    const state = loadState(dir);
    return createDeviceJwt({
      privateKey: await importPrivateKeyPem(state.keyPem),
      x5c: x5cFor(state.certPem, state.chainPem),
      deviceId: state.deviceId,
      audience: connectAudience(opts.url),
      ttlSeconds: 60,
    });
  };
  return Object.assign(credential, { checkRenewal });
}
