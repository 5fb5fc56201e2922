import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { parseOptions, STATE_DIR_OPTION, type Command } from './command.ts';
import { buildCsr, generateDeviceKey, importPrivateKeyPem, privateKeyPem, spkiOf } from './csr.ts';
import { createDeviceJwt, x5cFor } from './device-jwt.ts';
import { AgentError, EXIT } from './errors.ts';
import { checkIssued, deviceIdOf, estUrl, fetchCaCerts, simpleReenroll } from './est-client.ts';
import { loadState, pemOf, resolveStateDir, saveState } from './state.ts';

const USAGE = 'gatehouse-agent renew [--state-dir DIR] [--if-needed]';

/** True when less than a third of the certificate's lifetime is left (or it has expired): the connected agent's renewal rule. */
export function shouldRenew(cert: { notBefore: Date; notAfter: Date }, now: Date = new Date()): boolean {
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  return cert.notAfter.getTime() - now.getTime() < lifetime / 3;
}

/**
 * Renews the stored certificate through EST `simplereenroll`, authenticated by a device JWT made with the current key
 * and certificate, with a new key (re-key on renewal limits what a leaked old key is worth). The state is replaced
 * only after the new certificate has been checked. Returns the new certificate.
 */
export async function renewCertificate(dir: string): Promise<x509.X509Certificate> {
  const state = loadState(dir);
  const jwt = await createDeviceJwt({
    privateKey: await importPrivateKeyPem(state.keyPem),
    x5c: x5cFor(state.certPem, state.chainPem),
    deviceId: state.deviceId,
    audience: estUrl(state.url, 'simplereenroll'),
  });
  const keys = await generateDeviceKey();
  const cert = await simpleReenroll(state.url, jwt, await buildCsr(keys, { serial: state.serial }));
  const chain = await fetchCaCerts(state.url);
  await checkIssued(cert, await spkiOf(keys.publicKey), chain);
  if (deviceIdOf(cert) !== state.deviceId) throw new AgentError(EXIT.REJECTED, 'the renewed certificate names another device');
  saveState(dir, {
    ...state,
    renewedAt: new Date().toISOString(),
    keyPem: await privateKeyPem(keys.privateKey),
    certPem: pemOf([cert]),
    chainPem: pemOf(chain),
  });
  return cert;
}

/** `renew`: renews now, or with --if-needed only once less than a third of the lifetime is left (for cron and timers). */
export const renew: Command = {
  name: 'renew',
  summary: 'renew the device certificate (EST simplereenroll, authenticated by the current one)',
  usage: USAGE,
  async run(args) {
    const opts = parseOptions(args, { 'if-needed': { type: 'boolean' }, ...STATE_DIR_OPTION }, USAGE);
    const dir = resolveStateDir(opts['state-dir']);
    const current = new x509.X509Certificate(loadState(dir).certPem);
    if (opts['if-needed'] && !shouldRenew(current)) {
      console.error(`certificate ${current.serialNumber} is valid until ${current.notAfter.toISOString()}: no renewal needed yet`);
      return EXIT.OK;
    }
    const cert = await renewCertificate(dir);
    console.log(cert.serialNumber);
    console.error(`renewed: certificate ${cert.serialNumber} valid until ${cert.notAfter.toISOString()}`);
    return EXIT.OK;
  },
};
