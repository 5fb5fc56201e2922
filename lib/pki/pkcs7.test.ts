import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { bytesToHex, utf8 } from '../encoding.ts';
import { Pkcs7Invalid, PkiInputInvalid } from './errors.ts';
import { issueDeviceCertificate } from './issue.ts';
import { encodePem } from './pem.ts';
import { base64Body, certsOnlyPkcs7, parseCertsOnlyPkcs7 } from './pkcs7.ts';
import { CRL_URL, deviceKeys, makeCa } from './pki.test-fixture.ts';

async function chainAndLeaf() {
  const { ca } = await makeCa();
  const publicKey = (await deviceKeys()).publicKey;
  const issued = await issueDeviceCertificate({ ca, publicKey, deviceId: 'dev-7', crlUrl: CRL_URL });
  return { ca, leaf: issued.der };
}

describe('certs-only PKCS#7', () => {
  it('round-trips the chain byte for byte, in order', async () => {
    const { ca, leaf } = await chainAndLeaf();
    const certs = [leaf, ...ca.chainDer];
    const der = certsOnlyPkcs7(certs);
    expect(parseCertsOnlyPkcs7(der)).toEqual(certs);
    // The EST wire form (base64 lines), PEM and base64 bytes parse the same.
    expect(parseCertsOnlyPkcs7(base64Body(der))).toEqual(certs);
    expect(parseCertsOnlyPkcs7(utf8(base64Body(der, 76)))).toEqual(certs);
    expect(parseCertsOnlyPkcs7(encodePem(der, 'PKCS7'))).toEqual(certs);
  });

  it('is a degenerate SignedData that @peculiar/x509 (asn1-cms) reads too', async () => {
    const { ca } = await chainAndLeaf();
    const der = certsOnlyPkcs7(ca.chainDer);
    const viaLibrary = new x509.X509Certificates(der);
    expect(viaLibrary.map((c) => c.subject)).toEqual(ca.chain.map((c) => c.subject));
    // ContentInfo{signedData}, SignedData{version 1, no digest algorithms, id-data without eContent, …, no signers}.
    const hex = bytesToHex(der);
    expect(hex).toMatch(/^3082....06092a864886f70d010702a082....3082....0201013100300b06092a864886f70d010701a082/);
    expect(hex.endsWith('3100')).toBe(true);
  });

  it('wraps base64 at 64 or 76 characters with CRLF', async () => {
    const { ca } = await chainAndLeaf();
    const der = certsOnlyPkcs7(ca.chainDer);
    for (const width of [64, 76] as const) {
      const lines = base64Body(der, width).split('\r\n');
      expect(lines.pop()).toBe('');
      expect(lines.slice(0, -1).every((l) => l.length === width)).toBe(true);
      expect(lines.at(-1)?.length).toBeLessThanOrEqual(width);
    }
  });

  it('refuses to build from nothing or from non-DER', () => {
    expect(() => certsOnlyPkcs7([])).toThrow(PkiInputInvalid);
    expect(() => certsOnlyPkcs7([new Uint8Array([1, 2, 3])])).toThrow(PkiInputInvalid);
  });

  it('refuses garbage and mutations with Pkcs7Invalid only', async () => {
    const { ca } = await chainAndLeaf();
    const der = certsOnlyPkcs7(ca.chainDer);
    const notPkcs7 = ca.chainDer[0] ?? der;
    for (const bad of ['', 'garbage!', 'QUJD', new Uint8Array([0x30, 0x80, 0, 0]), der.subarray(0, 50), notPkcs7]) {
      expect(() => parseCertsOnlyPkcs7(bad)).toThrow(Pkcs7Invalid);
    }
    for (let i = 0; i < 200; i++) {
      const mutated = der.slice();
      const at = (i * 7) % der.length;
      mutated[at] = (mutated[at] ?? 0) ^ 0xff;
      try {
        parseCertsOnlyPkcs7(mutated);
      } catch (e) {
        expect(e).toBeInstanceOf(Pkcs7Invalid);
      }
    }
  });
});
