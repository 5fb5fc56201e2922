/**
 * EST against the real local Worker with OpenSSL as the third-party client: OpenSSL makes the key and the CSR, parses
 * every PKCS#7 answer, verifies the issued chain, and reads the CRL after a revocation.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';

const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-est-openssl-'));
const file = (name: string) => path.join(dir, name);
const openssl = async (...args: string[]) => (await run('openssl', args, { cwd: dir })).stdout;
const baseUrl = inject('baseUrl');
const adminHeaders = { Authorization: `PROV-ADMIN ${inject('secrets').PROV_ADMIN_API_KEY}` };

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function otp(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${baseUrl}/admin/api/otp`, { method: 'POST', headers: { ...adminHeaders, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { otp: string }).otp;
}

/** Decodes an EST base64 body to a DER file, and lets `openssl pkcs7 -print_certs` turn it into PEM certificates. */
async function pkcs7ToPems(res: Response, name: string): Promise<string[]> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/pkcs7-mime; smime-type=certs-only');
  expect(res.headers.get('content-transfer-encoding')).toBe('base64');
  writeFileSync(file(`${name}.p7.der`), Buffer.from(await res.text(), 'base64'));
  const printed = await openssl('pkcs7', '-inform', 'DER', '-in', `${name}.p7.der`, '-print_certs');
  return printed.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
}

function enroll(csrDer: Buffer, otpValue: string): Promise<Response> {
  return fetch(`${baseUrl}/.well-known/est/simpleenroll`, {
    method: 'POST',
    headers: { Authorization: `Basic ${Buffer.from(`SN123:${otpValue}`).toString('base64')}`, 'Content-Type': 'application/pkcs10', 'Content-Transfer-Encoding': 'base64' },
    body: csrDer.toString('base64'),
  });
}

describe('EST with openssl as the client', () => {
  let deviceId = '';
  let serialHex = '';

  it('enrols an openssl key and CSR with a serial-bound OTP, and the chain verifies with openssl verify', async () => {
    await openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'device.key',
      '-subj', '/CN=ignored/serialNumber=SN123', '-outform', 'DER', '-out', 'req.der');
    const [device, ...extra] = await pkcs7ToPems(await enroll(readFileSync(file('req.der')), await otp({ serial: 'SN123', note: 'openssl e2e' })), 'enroll');
    expect(extra).toEqual([]);
    writeFileSync(file('device.pem'), device ?? '');

    const [issuing, root, ...more] = await pkcs7ToPems(await fetch(`${baseUrl}/.well-known/est/cacerts`), 'cacerts');
    expect(more).toEqual([]);
    writeFileSync(file('issuing.pem'), issuing ?? '');
    writeFileSync(file('root.pem'), root ?? '');

    expect((await openssl('verify', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'device.pem')).trim()).toBe('device.pem: OK');
    // The certificate is for the key openssl generated.
    const certKey = await openssl('x509', '-in', 'device.pem', '-noout', '-pubkey');
    const ownKey = await openssl('pkey', '-in', 'device.key', '-pubout');
    expect(certKey).toBe(ownKey);

    const text = await openssl('x509', '-in', 'device.pem', '-noout', '-text');
    deviceId = /Subject: CN = ([0-9a-f-]{36}), serialNumber = SN123/.exec(text)?.[1] ?? '';
    expect(deviceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(text).toContain(`URI:urn:gatehouse:device:${deviceId}`);
    expect(text).toContain('TLS Web Client Authentication');
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature/);
    expect(text).toContain(`URI:${baseUrl}/pki/crl`);
    expect(text).toContain('X509v3 Subject Key Identifier');
    expect(text).toContain('X509v3 Authority Key Identifier');
    serialHex = (await openssl('x509', '-in', 'device.pem', '-noout', '-serial')).trim().replace(/^serial=/, '');
    expect(serialHex).toMatch(/^[0-9A-F]{30,34}$/);
  });

  it('revokes the device, and openssl reads the revoked serial from the DER CRL signed by the issuing CA', async () => {
    const res = await fetch(`${baseUrl}/admin/api/devices/${deviceId}/revoke`, {
      method: 'POST',
      headers: { ...adminHeaders, 'Content-Type': 'application/json' },
      body: JSON.stringify({ reason: 'keyCompromise' }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { revoked: string[] }).revoked).toEqual([serialHex.toLowerCase().replace(/^(00)+/, '')]);

    const crlRes = await fetch(`${baseUrl}/pki/crl`);
    expect(crlRes.status).toBe(200);
    expect(crlRes.headers.get('content-type')).toBe('application/pkix-crl');
    writeFileSync(file('crl.der'), Buffer.from(await crlRes.arrayBuffer()));
    const crlText = await openssl('crl', '-inform', 'DER', '-in', 'crl.der', '-text', '-noout');
    expect(crlText).toContain(`Serial Number: ${serialHex.replace(/^(00)+/, '')}`);
    expect(crlText).toContain('Key Compromise');
    expect(crlText).toMatch(/Last Update: .+\n\s+Next Update: .+/);
    expect(crlText).toMatch(/X509v3 CRL Number:\s+\d+/);

    const verified = await run('openssl', ['crl', '-inform', 'DER', '-in', 'crl.der', '-noout', '-CAfile', 'issuing.pem'], { cwd: dir });
    expect(verified.stderr).toContain('verify OK');
    await openssl('crl', '-inform', 'DER', '-in', 'crl.der', '-out', 'crl.pem');
    const refused = await run('openssl', ['verify', '-crl_check', '-CRLfile', 'crl.pem', '-CAfile', 'root.pem', '-untrusted', 'issuing.pem', 'device.pem'], { cwd: dir }).then(
      () => '',
      (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
    expect(refused).toContain('certificate revoked');
  });

  it('publishes CsrAttrs that openssl asn1parse reads', async () => {
    const res = await fetch(`${baseUrl}/.well-known/est/csrattrs`);
    expect(res.headers.get('content-type')).toBe('application/csrattrs');
    writeFileSync(file('csrattrs.der'), Buffer.from(await res.text(), 'base64'));
    const parsed = await openssl('asn1parse', '-inform', 'DER', '-in', 'csrattrs.der');
    for (const name of ['id-ecPublicKey', 'prime256v1', 'secp384r1', 'ED25519', 'rsaEncryption', 'ecdsa-with-SHA256', 'sha256WithRSAEncryption', 'serialNumber']) {
      expect(parsed, name).toContain(name);
    }
  });

  it('refuses an openssl RSA-1024 request and a request for another serial with short text errors', async () => {
    await openssl('req', '-new', '-newkey', 'rsa:1024', '-nodes', '-keyout', 'weak.key', '-subj', '/CN=weak/serialNumber=SN123', '-outform', 'DER', '-out', 'weak.der');
    const weak = await enroll(readFileSync(file('weak.der')), await otp({}));
    expect(weak.status).toBe(400);
    expect(weak.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await weak.text()).toMatch(/^key type not allowed/);
    const other = await enroll(readFileSync(file('req.der')), await otp({ serial: 'SN999' }));
    expect(other.status).toBe(403);
    expect(await other.text()).toMatch(/another device serial/);
  });
});
