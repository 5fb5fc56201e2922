/**
 * Which URLs Gatehouse will POST notifications to (webhook URLs and Web Push endpoints), against server-side request
 * forgery. In production: `https` only, no credentials in the URL, and no host that names a private, loopback,
 * link-local, shared, multicast or documentation network, whether written as an IP address (any form the URL parser
 * normalises, IPv4-mapped and NAT64 IPv6 included) or as a name that cannot be public (`localhost`, single labels,
 * `.local`, `.internal`, `.home.arpa` and the RFC 6761 special-use names). In DEV_MODE any host is allowed over https,
 * and plain http only to loopback. Names are not resolved here (Workers have no resolver API): a public name that
 * resolves to a private address is left to the platform, whose egress does not route to private networks; redirects
 * are never followed when sending (see channels/http.ts), so a public URL cannot bounce a request inward.
 */
import { inBlock, parseAllowList, parseIp, type IpAddress } from '../provisioning/ip-allow.ts';

/** The longest URL accepted. */
export const MAX_TARGET_URL_LENGTH = 2048;

// RFC 6890 special-purpose registries (IPv4 and IPv6) and RFC 1918 / 4193 / 4291 / 6598: never a public receiver.
const FORBIDDEN = parseAllowList(
  [
    '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.0.2.0/24',
    '192.88.99.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4',
    '::/96', '64:ff9b::/96', '64:ff9b:1::/48', '100::/64', '2001::/32', '2001:db8::/32', '2002::/16', 'fc00::/7', 'fe80::/10', 'fec0::/10', 'ff00::/8',
  ].join(','),
  'FORBIDDEN',
);
const LOOPBACK = parseAllowList('127.0.0.0/8,::1/128', 'LOOPBACK');
const PRIVATE_SUFFIXES = ['.localhost', '.local', '.internal', '.intranet', '.lan', '.home.arpa', '.test', '.example', '.invalid', '.onion', '.arpa'];

/** The outcome of checking a target URL: the parsed URL, or a reason fit for a 400 problem. */
export type TargetCheck = { ok: true; url: URL } | { ok: false; reason: string };

const hostIp = (hostname: string): IpAddress | null => parseIp(hostname.replace(/^\[|\]$/g, ''));

/** True for `localhost` names and loopback addresses. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const ip = hostIp(host);
  return ip !== null && LOOPBACK.some((b) => inBlock(ip, b));
}

/** True when the host cannot be a public Internet receiver (see the module comment). */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const ip = hostIp(host);
  if (ip) return FORBIDDEN.some((b) => inBlock(ip, b));
  if (host === 'localhost' || !host.includes('.')) return true;
  return PRIVATE_SUFFIXES.some((s) => host.endsWith(s));
}

/** Checks a URL that Gatehouse is asked to POST to; `what` names it in the reason (e.g. "the webhook URL"). */
export function checkTargetUrl(raw: string, opts: { devMode: boolean; what: string }): TargetCheck {
  if (raw.length > MAX_TARGET_URL_LENGTH) return { ok: false, reason: `${opts.what} is longer than ${MAX_TARGET_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: `${opts.what} is not an absolute URL` };
  }
  if (url.username || url.password) return { ok: false, reason: `${opts.what} must not contain credentials` };
  if (url.hash) return { ok: false, reason: `${opts.what} must not contain a fragment` };
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol === 'http:') {
    if (opts.devMode && loopback) return { ok: true, url };
    return { ok: false, reason: `${opts.what} must use https${opts.devMode ? ' (http is allowed only to loopback)' : ''}` };
  }
  if (url.protocol !== 'https:') return { ok: false, reason: `${opts.what} must use https` };
  if (!opts.devMode && isPrivateHost(url.hostname)) {
    return { ok: false, reason: `${opts.what} points to a private, loopback or reserved network, which is not allowed` };
  }
  return { ok: true, url };
}
