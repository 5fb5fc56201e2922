import { describe, expect, it } from 'vitest';
import { checkTargetUrl, isLoopbackHost, isPrivateHost } from './target-url.ts';

const prod = (url: string) => checkTargetUrl(url, { devMode: false, what: 'the URL' });
const dev = (url: string) => checkTargetUrl(url, { devMode: true, what: 'the URL' });

describe('checkTargetUrl (SSRF rule)', () => {
  it('accepts public https URLs in production', () => {
    for (const url of ['https://hooks.example.com/in', 'https://93.184.216.34/x', 'https://[2606:4700::1111]/x', 'https://fcm.googleapis.com/fcm/send/a:b']) {
      expect(prod(url), url).toMatchObject({ ok: true });
    }
  });

  it('refuses private, loopback, link-local, shared, ULA, multicast and documentation targets in production', () => {
    const refused = [
      'https://10.1.2.3/', 'https://172.16.0.1/', 'https://172.31.255.255/', 'https://192.168.1.1/', 'https://127.0.0.1/', 'https://127.1/',
      'https://2130706433/', 'https://0x7f000001/', 'https://0.0.0.0/', 'https://169.254.169.254/latest/meta-data', 'https://100.64.0.1/',
      'https://198.18.0.1/', 'https://224.0.0.1/', 'https://255.255.255.255/', 'https://192.0.2.10/', 'https://[::1]/', 'https://[::]/',
      'https://[fd00::1]/', 'https://[fe80::1]/', 'https://[::ffff:10.0.0.1]/', 'https://[::ffff:7f00:1]/', 'https://[64:ff9b::a00:1]/',
      'https://[2002:a00:1::]/', 'https://[ff02::1]/', 'https://localhost/', 'https://api.localhost/', 'https://printer.local/',
      'https://db.internal/', 'https://intranet/', 'https://router.home.arpa/', 'https://x.test/', 'https://10.0.0.1./',
    ];
    for (const url of refused) expect(prod(url), url).toEqual({ ok: false, reason: 'the URL points to a private, loopback or reserved network, which is not allowed' });
  });

  it('refuses http, other schemes, credentials, fragments and overlong URLs', () => {
    expect(prod('http://hooks.example.com/')).toEqual({ ok: false, reason: 'the URL must use https' });
    expect(prod('ftp://hooks.example.com/')).toEqual({ ok: false, reason: 'the URL must use https' });
    expect(prod('https://user:pw@hooks.example.com/')).toEqual({ ok: false, reason: 'the URL must not contain credentials' });
    expect(prod('https://hooks.example.com/#x')).toEqual({ ok: false, reason: 'the URL must not contain a fragment' });
    expect(prod(`https://hooks.example.com/${'a'.repeat(2048)}`)).toMatchObject({ ok: false });
    expect(prod('/relative')).toEqual({ ok: false, reason: 'the URL is not an absolute URL' });
  });

  it('in DEV_MODE allows http to loopback only, and https anywhere', () => {
    for (const url of ['http://127.0.0.1:9999/hook', 'http://localhost:8080/', 'http://[::1]:1/', 'https://10.0.0.1/', 'https://localhost/']) expect(dev(url), url).toMatchObject({ ok: true });
    expect(dev('http://10.0.0.1/')).toEqual({ ok: false, reason: 'the URL must use https (http is allowed only to loopback)' });
    expect(dev('http://hooks.example.com/')).toMatchObject({ ok: false });
  });

  it('classifies hosts', () => {
    expect(isLoopbackHost('127.8.9.10')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
    expect(isPrivateHost('example.com')).toBe(false);
    expect(isPrivateHost('8.8.8.8')).toBe(false);
    expect(isPrivateHost('[2001:4860:4860::8888]')).toBe(false);
  });
});
