import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { bytesToBase64, utf8 } from '../encoding.ts';
import { CSR_MAX_BYTES, parseAndCheckCsr } from './csr.ts';
import { CsrRejected, type CsrRejectReason } from './errors.ts';
import { OPENSSL_CSR } from './openssl-csrs.test-fixture.ts';
import { deviceKeys, exportDer, makeCsr } from './pki.test-fixture.ts';

/** The EST wire form: base64 in 64-character lines. */
const wire = (der: Uint8Array): string => `${bytesToBase64(der).match(/.{1,64}/g)?.join('\r\n')}\r\n`;

async function rejection(body: string | Uint8Array, policy = {}): Promise<CsrRejectReason> {
  const error = await parseAndCheckCsr(body, policy).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof CsrRejected)) throw new Error(`expected CsrRejected, got ${String(error)}`);
  return error.reason;
}

describe('parseAndCheckCsr: accepted requests', () => {
  it('takes an ECDSA P-256 request as EST base64, PEM, base64 bytes and raw DER alike', async () => {
    const { der, pem, keys } = await makeCsr();
    const spki = await exportDer('spki', keys.publicKey);
    for (const body of [wire(der), pem, utf8(wire(der)), der, bytesToBase64(der)]) {
      const checked = await parseAndCheckCsr(body, {});
      expect(checked.keyType).toBe('ECDSA-P256');
      expect(checked.spki).toEqual(spki);
      expect(checked.commonName).toBe('requested-name');
      expect(checked.serialNumber).toBe('SN-0001');
      expect(checked.publicKey.type).toBe('public');
      expect(checked.publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
      expect(Object.keys(checked).sort()).toEqual(['commonName', 'keyType', 'publicKey', 'serialNumber', 'spki']);
    }
  });

  it.each([
    ['ECDSA-P384', 'ECDSA-P384'],
    ['RSA-2048', 'RSA'],
    ['Ed25519', 'Ed25519'],
  ] as const)('accepts %s (made with WebCrypto in workerd)', async (kind, keyType) => {
    const { der } = await makeCsr({ kind, name: 'CN=dev' });
    const checked = await parseAndCheckCsr(wire(der));
    expect(checked.keyType).toBe(keyType);
    expect(checked.commonName).toBe('dev');
    expect(checked.serialNumber).toBeNull();
  });

  it('accepts requests made by OpenSSL (P-256 with a full subject, Ed25519)', async () => {
    const p256 = await parseAndCheckCsr(OPENSSL_CSR.EC_P256);
    expect(p256).toMatchObject({ keyType: 'ECDSA-P256', commonName: 'openssl-device', serialNumber: 'SN 0042' });
    const ed = await parseAndCheckCsr(OPENSSL_CSR.ED25519);
    expect(ed).toMatchObject({ keyType: 'Ed25519', commonName: 'dev-ed', serialNumber: 'SN-ED-1' });
  });

  it('accepts a request without a subject, returning nulls', async () => {
    const { der } = await makeCsr({ name: [] });
    expect(await parseAndCheckCsr(wire(der))).toMatchObject({ commonName: null, serialNumber: null });
  });
});

describe('parseAndCheckCsr: refused requests', () => {
  it('refuses a request whose signature was tampered with (proof of possession)', async () => {
    const { der } = await makeCsr();
    const lastByte = der.slice();
    lastByte[lastByte.length - 1] = (lastByte.at(-1) ?? 0) ^ 0x01;
    expect(await rejection(wire(lastByte))).toBe('bad_signature');
    // Changing the signed subject (a letter of "requested-name") is caught the same way.
    const at = new TextDecoder('latin1').decode(der).indexOf('requested-name');
    const subject = der.slice();
    subject[at] = (subject[at] ?? 0) ^ 0x20;
    expect(await rejection(wire(subject))).toBe('bad_signature');
  });

  it('refuses RSA-1024, P-521 and a SHA-1 signature', async () => {
    expect(await rejection(OPENSSL_CSR.RSA_1024)).toBe('key_not_allowed');
    expect(await rejection(OPENSSL_CSR.EC_P521)).toBe('key_not_allowed');
    expect(await rejection(OPENSSL_CSR.RSA_2048_SHA1)).toBe('bad_signature');
  });

  it('applies the policy allow-list', async () => {
    const { der } = await makeCsr({ kind: 'Ed25519' });
    expect(await rejection(wire(der), { allowedKeyTypes: ['ECDSA-P256'] })).toBe('key_not_allowed');
  });

  it('refuses oversized bodies before decoding them', async () => {
    expect(await rejection('A'.repeat(CSR_MAX_BYTES + 1))).toBe('too_large');
    expect(await rejection(new Uint8Array(CSR_MAX_BYTES + 1))).toBe('too_large');
    const { der } = await makeCsr();
    expect(await rejection(wire(der), { maxBytes: 100 })).toBe('too_large');
  });

  it('refuses garbage, truncated and padded bodies as malformed', async () => {
    const { der } = await makeCsr();
    const certLike = (await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=x',
      keys: await deviceKeys(),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    })).rawData;
    const bodies: (string | Uint8Array)[] = [
      '',
      'not base64 at all!!!',
      '%%%%',
      'QUJD',
      bytesToBase64(crypto.getRandomValues(new Uint8Array(300))),
      wire(der.subarray(0, der.length - 10)),
      wire(new Uint8Array([...der, 0, 0])),
      wire(new Uint8Array(certLike)),
      '-----BEGIN CERTIFICATE REQUEST-----\n@@@@\n-----END CERTIFICATE REQUEST-----',
      '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----',
      new Uint8Array([0x30, 0x82, 0xff, 0xff, 1, 2, 3]),
      new Uint8Array([0xff, 0xfe, 0x00]),
    ];
    for (const body of bodies) expect(await rejection(body)).toBe('malformed');
  });

  it('refuses subjects that are not printable or too long', async () => {
    for (const name of [
      [{ CN: [{ utf8String: 'bad\u0000name' }] }],
      [{ CN: ['x'.repeat(65)] }],
      [{ CN: ['one'] }, { CN: ['two'] }],
      [{ '2.5.4.5': [{ utf8String: 'SN*42' }] }],
      [{ CN: [{ utf8String: 'caf\u00e9' }] }],
    ]) {
      const { der } = await makeCsr({ name });
      expect(await rejection(wire(der))).toBe('bad_subject');
    }
  });

  it('never throws anything but CsrRejected on mutated input (light fuzzing)', async () => {
    const { der } = await makeCsr();
    const outcomes = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const mutated = der.slice();
      const at = i % der.length;
      mutated[at] = (mutated[at] ?? 0) ^ (1 << (i % 8));
      const outcome = await parseAndCheckCsr(i % 2 ? mutated : wire(mutated)).then(
        () => 'accepted',
        (e: unknown) => (e instanceof CsrRejected ? e.reason : `unexpected ${String(e)}`),
      );
      outcomes.add(outcome);
    }
    expect([...outcomes].filter((o) => o.startsWith('unexpected'))).toEqual([]);
    expect(outcomes.has('malformed')).toBe(true);
    expect(outcomes.has('bad_signature')).toBe(true);
  });
});
