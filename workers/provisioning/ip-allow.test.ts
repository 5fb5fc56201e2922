import { describe, expect, it } from 'vitest';
import { isAllowed, parseAllowList, parseIp } from './ip-allow.ts';

describe('parseIp', () => {
  it('reads IPv4, IPv6 (compressed, embedded IPv4, zone) and IPv4-mapped IPv6 as IPv4', () => {
    expect(parseIp('192.0.2.1')).toEqual({ v: 4, n: 0xc0000201n });
    expect(parseIp('2001:db8::1')).toEqual({ v: 6, n: (0x20010db8n << 96n) | 1n });
    expect(parseIp('::')).toEqual({ v: 6, n: 0n });
    expect(parseIp('::1')).toEqual({ v: 6, n: 1n });
    expect(parseIp('64:ff9b::192.0.2.33')).toEqual({ v: 6, n: (0x64ff9bn << 96n) | 0xc0000221n });
    expect(parseIp('::ffff:10.1.2.3')).toEqual({ v: 4, n: 0x0a010203n });
    expect(parseIp('fe80::1%eth0')).toEqual({ v: 6, n: (0xfe80n << 112n) | 1n });
    expect(parseIp('1:2:3:4:5:6:7:8')?.n).toBe(0x00010002000300040005000600070008n);
  });

  it('refuses what is not an address', () => {
    for (const bad of ['', '1.2.3', '1.2.3.256', '01.2.3.4', '1.2.3.4.5', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:2:3:4:5:6:7::8', 'localhost', ':::']) {
      expect(parseIp(bad), bad).toBeNull();
    }
  });
});

describe('allow-list', () => {
  const list = parseAllowList('10.0.0.0/8, 192.0.2.7 2001:db8:abcd::/48', 'X');

  it('matches IPv4 and IPv6 CIDR blocks and single addresses', () => {
    expect(isAllowed(list, '10.255.0.1')).toBe(true);
    expect(isAllowed(list, '11.0.0.1')).toBe(false);
    expect(isAllowed(list, '192.0.2.7')).toBe(true);
    expect(isAllowed(list, '192.0.2.8')).toBe(false);
    expect(isAllowed(list, '2001:db8:abcd:12::5')).toBe(true);
    expect(isAllowed(list, '2001:db8:abce::5')).toBe(false);
    expect(isAllowed(list, '::ffff:10.9.9.9')).toBe(true);
  });

  it('refuses a missing or unparsable client address, and allows all when empty', () => {
    expect(isAllowed(list, undefined)).toBe(false);
    expect(isAllowed(list, 'garbage')).toBe(false);
    expect(isAllowed(parseAllowList('  ', 'X'), undefined)).toBe(true);
    expect(isAllowed(parseAllowList('0.0.0.0/0', 'X'), '8.8.8.8')).toBe(true);
    expect(isAllowed(parseAllowList('0.0.0.0/0', 'X'), '2001:db8::1')).toBe(false);
    expect(isAllowed(parseAllowList('::/0', 'X'), '2001:db8::1')).toBe(true);
  });

  it('throws on a bad entry, naming the var', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', '2001:db8::/129', 'example.com', '10.0.0.0/8/8', '::ffff:10.0.0.0/24', '1.2.3.4/x']) {
      expect(() => parseAllowList(bad, 'PROV_ADMIN_ALLOWED_IPS'), bad).toThrow(/PROV_ADMIN_ALLOWED_IPS/);
    }
  });
});
