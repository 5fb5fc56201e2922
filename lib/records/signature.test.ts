import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import type { RecordContent } from './canonical.ts';
import { signRecord, verifyRecordSignature, type SigningKeyLookup } from './signature.ts';

const record: RecordContent = { id: 'r1', orgId: 'org-1', type: 'invoice.paid', time: '2026-11-25T08:00:00+01:00', payload: { amount: 12.5, to: 'ACME' } };

async function keyPair(alg: 'EdDSA' | 'ES256', kid: string) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid } };
}

describe('signed records', () => {
  for (const alg of ['EdDSA', 'ES256'] as const) {
    it(`signs (${alg}) a detached JWS that verifies, and fails for any change to a signed member`, async () => {
      const key = await keyPair(alg, `k-${alg}`);
      const lookup: SigningKeyLookup = (kid) => (kid === key.kid ? { jwk: key.jwk, status: 'active' } : undefined);
      const jws = await signRecord(record, key.privateKey, { kid: key.kid, alg });
      expect(jws).toMatch(/^[\w-]+\.\.[\w-]+$/);
      expect(await verifyRecordSignature(record, jws, lookup)).toEqual({ ok: true, kid: key.kid });
      expect(await verifyRecordSignature({ ...record, payload: { to: 'ACME', amount: 12.5 } }, jws, lookup)).toEqual({ ok: true, kid: key.kid });
      for (const change of [{ id: 'r2' }, { orgId: 'org-2' }, { type: 'x' }, { time: '2026-11-25T07:00:00Z' }, { payload: { amount: 125, to: 'ACME' } }]) {
        expect(await verifyRecordSignature({ ...record, ...change }, jws, lookup)).toMatchObject({ ok: false, reason: 'bad_signature' });
      }
    });
  }

  it('refuses unknown and (on append) retired kids, and malformed signatures', async () => {
    const key = await keyPair('EdDSA', 'old');
    const jws = await signRecord(record, key.privateKey, { kid: 'old', alg: 'EdDSA' });
    expect(await verifyRecordSignature(record, jws, () => undefined)).toMatchObject({ ok: false, reason: 'unknown_kid' });
    const retired: SigningKeyLookup = () => ({ jwk: key.jwk, status: 'retired' });
    expect(await verifyRecordSignature(record, jws, retired, { requireActive: true })).toMatchObject({ ok: false, reason: 'retired_kid' });
    expect(await verifyRecordSignature(record, jws, retired)).toEqual({ ok: true, kid: 'old' });
    for (const bad of ['', 'a.b.c', `${jws.split('..')[0]}.e30.${jws.split('..')[1]}`, 'e30..AAAA']) {
      expect(await verifyRecordSignature(record, bad, retired)).toMatchObject({ ok: false, reason: 'malformed' });
    }
    const other = await keyPair('EdDSA', 'old');
    expect(await verifyRecordSignature(record, jws, () => ({ jwk: other.jwk, status: 'active' }))).toMatchObject({ ok: false, reason: 'bad_signature' });
  });
});
