import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { buildCrl, isCrlReason } from './crl.ts';
import { PkiInputInvalid } from './errors.ts';
import { makeCa } from './pki.test-fixture.ts';

const at = (iso: string): Date => new Date(iso);
const crlNumberOf = (crl: x509.X509Crl): number[] =>
  [...new Uint8Array(crl.getExtension('2.5.29.20')?.value ?? new ArrayBuffer(0))];
const thisUpdate = new Date('2030-05-01T10:00:00Z');
const nextUpdate = new Date('2030-05-02T10:00:00Z');

describe('buildCrl', () => {
  it('lists the revoked serials with reason codes, signed by the issuing CA', async () => {
    const { ca } = await makeCa();
    const other = await makeCa('Other');
    const der = await buildCrl({
      ca,
      thisUpdate,
      nextUpdate,
      crlNumber: 42,
      revoked: [
        { serialHex: '0A1B2C3D4E5F60718293A4B5C6D7E8F9', revokedAt: at('2030-04-30T08:00:00Z'), reason: 'keyCompromise' },
        { serialHex: '00ff01', revokedAt: at('2030-04-29T08:00:00Z'), reason: 'unspecified' },
        // The same certificate revoked a second time (upper/lower case): listed once, with the first reason.
        { serialHex: '0a1b2c3d4e5f60718293a4b5c6d7e8f9', revokedAt: at('2030-04-30T09:00:00Z'), reason: 'superseded' },
      ],
    });
    const crl = new x509.X509Crl(der);
    expect(crl.version).toBe(1); // v2 is encoded as 1 (RFC 5280 §5.1.2.1)
    expect(crl.issuer).toBe(ca.cert.subject);
    expect(crl.thisUpdate).toEqual(thisUpdate);
    expect(crl.nextUpdate).toEqual(nextUpdate);
    expect(await crl.verify({ publicKey: ca.cert })).toBe(true);
    expect(await crl.verify({ publicKey: other.ca.cert })).toBe(false);

    expect(crl.entries).toHaveLength(2);
    const compromised = crl.findRevoked('0a1b2c3d4e5f60718293a4b5c6d7e8f9');
    expect(compromised?.reason).toBe(x509.X509CrlReason.keyCompromise);
    expect(compromised?.revocationDate).toEqual(new Date('2030-04-30T08:00:00Z'));
    const unspecified = crl.findRevoked('ff01');
    expect(unspecified?.reason).toBeUndefined(); // RFC 5280 §5.3.1: unspecified is expressed by omission
    expect(crl.findRevoked('1234')).toBeNull();

    const aki = crl.getExtension(x509.AuthorityKeyIdentifierExtension);
    expect(aki?.keyId).toBe(ca.keyIdHex);
    expect(crl.getExtension('2.5.29.20')?.critical).toBe(false);
    expect(crlNumberOf(crl)).toEqual([0x02, 0x01, 42]);
  });

  it('builds an empty CRL and encodes large CRL numbers as positive integers', async () => {
    const { ca } = await makeCa();
    const crl = new x509.X509Crl(await buildCrl({ ca, thisUpdate, nextUpdate, crlNumber: 0x80n, revoked: [] }));
    expect(crl.entries).toHaveLength(0);
    expect(crlNumberOf(crl)).toEqual([0x02, 0x02, 0x00, 0x80]);
  });

  it('refuses bad inputs', async () => {
    const { ca } = await makeCa();
    const base = { ca, thisUpdate, nextUpdate, crlNumber: 1, revoked: [] };
    const entry = { serialHex: '01', revokedAt: thisUpdate, reason: 'keyCompromise' as const };
    for (const bad of [
      { crlNumber: -1 },
      { crlNumber: 1n << 160n },
      { nextUpdate: thisUpdate },
      { revoked: [{ ...entry, serialHex: 'xyz' }] },
      { revoked: [{ ...entry, serialHex: '00' }] },
      { revoked: [{ ...entry, reason: 'bogus' as 'keyCompromise' }] },
    ]) {
      await expect(buildCrl({ ...base, ...bad })).rejects.toBeInstanceOf(PkiInputInvalid);
    }
    expect(isCrlReason('cessationOfOperation')).toBe(true);
    expect(isCrlReason('toString')).toBe(false);
  });
});
