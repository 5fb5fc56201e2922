import 'reflect-metadata';
import { cleanSerialNumber } from '../lib/pki/ids.ts';
import { parseOptions, required, STATE_DIR_OPTION, type Command } from './command.ts';
import { buildCsr, generateDeviceKey, privateKeyPem, spkiOf } from './csr.ts';
import { AgentError, EXIT } from './errors.ts';
import { checkIssued, deviceIdOf, fetchCaCerts, simpleEnroll } from './est-client.ts';
import { isEnrolled, loadState, pemOf, resolveStateDir, saveState } from './state.ts';

const USAGE = 'gatehouse-agent enroll --url URL --otp OTP [--serial SERIAL] [--state-dir DIR] [--force]';

/** A Gatehouse base URL from the command line: absolute http(s), no query or fragment. */
export function serverUrl(value: string, usage: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AgentError(EXIT.USAGE, `--url "${value}" is not a URL\nusage: ${usage}`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) {
    throw new AgentError(EXIT.USAGE, `--url must be an http(s) base URL without query or fragment\nusage: ${usage}`);
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * `enroll`: generates an ECDSA P-256 key here, sends a CSR to EST `simpleenroll` with the one-time passcode, fetches
 * `cacerts`, checks the certificate is for this key and signed by that CA, stores everything and prints the device id.
 * The OTP may come from $GATEHOUSE_AGENT_OTP instead of --otp, to keep it out of the process list.
 */
export const enroll: Command = {
  name: 'enroll',
  summary: 'enrol this device with a one-time passcode and store its key and certificate',
  usage: USAGE,
  async run(args) {
    const opts = parseOptions(
      args,
      { url: { type: 'string' }, otp: { type: 'string' }, serial: { type: 'string' }, force: { type: 'boolean' }, ...STATE_DIR_OPTION },
      USAGE,
    );
    const url = serverUrl(required(opts.url, 'url', USAGE), USAGE);
    const otp = required(opts.otp ?? process.env.GATEHOUSE_AGENT_OTP, 'otp', USAGE);
    const serial = opts.serial === undefined ? null : cleanSerialNumber(opts.serial);
    if (opts.serial !== undefined && serial === null) {
      throw new AgentError(EXIT.USAGE, '--serial must be 1-64 letters, digits, spaces or \'()+,-./:=?');
    }
    const dir = resolveStateDir(opts['state-dir']);
    if (isEnrolled(dir) && !opts.force) {
      throw new AgentError(EXIT.STATE, `${dir} already holds device ${loadState(dir).deviceId} (use --force to enrol again)`);
    }

    const keys = await generateDeviceKey();
    const cert = await simpleEnroll(url, otp, await buildCsr(keys, { serial }), serial);
    const chain = await fetchCaCerts(url);
    await checkIssued(cert, await spkiOf(keys.publicKey), chain);
    const deviceId = deviceIdOf(cert);
    saveState(dir, {
      deviceId,
      url,
      serial,
      enrolledAt: new Date().toISOString(),
      keyPem: await privateKeyPem(keys.privateKey),
      certPem: pemOf([cert]),
      chainPem: pemOf(chain),
    });
    console.log(deviceId);
    console.error(`enrolled as ${deviceId}: certificate ${cert.serialNumber} valid until ${cert.notAfter.toISOString()}; state in ${dir}`);
    return EXIT.OK;
  },
};
