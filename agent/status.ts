import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { parseOptions, STATE_DIR_OPTION, type Command } from './command.ts';
import { shouldRenew } from './renew.ts';
import { loadState, resolveStateDir } from './state.ts';

const USAGE = 'gatehouse-agent status [--state-dir DIR] [--json]';
const DAY_MS = 86_400_000;

/** `status`: what the state directory holds, read locally (no network): device id, server, certificate and its expiry. */
export const status: Command = {
  name: 'status',
  summary: 'show the device id and certificate held in the state directory',
  usage: USAGE,
  async run(args) {
    const opts = parseOptions(args, { json: { type: 'boolean' }, ...STATE_DIR_OPTION }, USAGE);
    const dir = resolveStateDir(opts['state-dir']);
    const state = loadState(dir);
    const cert = new x509.X509Certificate(state.certPem);
    const now = new Date();
    const report = {
      deviceId: state.deviceId,
      server: state.url,
      serial: state.serial,
      certificateSerial: cert.serialNumber.toLowerCase(),
      notBefore: cert.notBefore.toISOString(),
      notAfter: cert.notAfter.toISOString(),
      expired: cert.notAfter <= now,
      renewalDue: shouldRenew(cert, now),
      stateDir: dir,
    };
    if (opts.json) {
      console.log(JSON.stringify(report, null, 2));
      return 0;
    }
    const daysLeft = Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS);
    const rows: [string, string][] = [
      ['device id', report.deviceId],
      ['server', report.server],
      ['serial', report.serial ?? '-'],
      ['certificate', report.certificateSerial],
      ['valid from', report.notBefore],
      ['valid until', `${report.notAfter} (${report.expired ? 'EXPIRED' : `${daysLeft} days left`})`],
      ['renewal due', report.renewalDue ? 'yes' : 'no'],
      ['state dir', dir],
    ];
    for (const [label, value] of rows) console.log(`${`${label}:`.padEnd(14)}${value}`);
    return 0;
  },
};
