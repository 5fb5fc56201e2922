import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToHex } from '../encoding.ts';
import { fromHex, k, modPow, N, padHex } from './group.ts';
import { clientEphemeral, clientSessionKey, passwordClaimSignature, serverEphemeral, serverSessionKey, SrpParameterError } from './session.ts';
import { formatSrpTimestamp, parseSrpTimestamp } from './timestamp.ts';
import { createVerifier, poolNameOf } from './verifier.ts';
import { VECTOR as V } from './vectors.test-fixture.ts';

/**
 * The vectors were computed by amazon-cognito-identity-js's own AuthenticationHelper with fixed a, b and salt
 * (its key and signature came out equal to this module's server side), so these tests pin the byte-exact behaviour.
 */
describe('Cognito SRP against amazon-cognito-identity-js vectors', () => {
  it('derives k = H(padHex(N) || padHex(g)) as the library does', async () => {
    expect((await k()).toString(16)).toBe(V.k);
  });

  it('computes the verifier from pool name, user id, password and salt', async () => {
    const v = await createVerifier(V.poolName, V.userId, V.password, V.salt);
    expect(v.salt).toBe(`00${V.salt}`);
    expect(v.verifier).toBe(V.verifier);
    const other = await createVerifier(V.poolName, V.userId, 'another password', V.salt);
    expect(other.verifier).not.toBe(V.verifier);
  });

  it('computes A and B for fixed ephemerals', async () => {
    expect(clientEphemeral(fromHex(V.a)).A.toString(16)).toBe(V.A);
    expect((await serverEphemeral(V.verifier, fromHex(V.b))).B.toString(16)).toBe(V.B);
  });

  it('agrees with the library on the session key from both sides, and on the signature', async () => {
    const serverKey = await serverSessionKey({ A: fromHex(V.A), B: fromHex(V.B), b: fromHex(V.b), verifierHex: V.verifier });
    expect(bytesToHex(serverKey)).toBe(V.key);
    const clientKey = await clientSessionKey({ a: fromHex(V.a), A: fromHex(V.A), B: fromHex(V.B), salt: V.salt, poolName: V.poolName, userId: V.userId, password: V.password });
    expect(bytesToHex(clientKey)).toBe(V.key);
    const signature = await passwordClaimSignature(serverKey, { poolName: V.poolName, userId: V.userId, secretBlock: base64ToBytes(V.secretBlock), timestamp: V.timestamp });
    expect(signature).toBe(V.signature);
  });

  it('gives a different key for a wrong password', async () => {
    const clientKey = await clientSessionKey({ a: fromHex(V.a), A: fromHex(V.A), B: fromHex(V.B), salt: V.salt, poolName: V.poolName, userId: V.userId, password: 'wrong' });
    expect(bytesToHex(clientKey)).not.toBe(V.key);
  });

  it('round-trips with random ephemerals and a random salt', async () => {
    const v = await createVerifier('pool', 'bob', 'pw');
    const { a, A } = clientEphemeral();
    const { b, B } = await serverEphemeral(v.verifier);
    const server = await serverSessionKey({ A, B, b, verifierHex: v.verifier });
    const client = await clientSessionKey({ a, A, B, salt: v.salt, poolName: 'pool', userId: 'bob', password: 'pw' });
    expect(bytesToHex(client)).toBe(bytesToHex(server));
  });

  it('refuses A ≡ 0 (mod N), which would let a client skip the password', async () => {
    for (const A of [0n, N, 2n * N]) {
      await expect(serverSessionKey({ A, B: fromHex(V.B), b: fromHex(V.b), verifierHex: V.verifier })).rejects.toBeInstanceOf(SrpParameterError);
    }
  });
});

describe('padHex and helpers', () => {
  it('encodes as Java BigInteger.toByteArray does for positive values', () => {
    expect(padHex(0x14n)).toBe('14');
    expect(padHex(0xecn)).toBe('00ec');
    expect(padHex(0x1ffn)).toBe('01ff');
    expect(padHex(0n)).toBe('00');
    expect(() => padHex(-1n)).toThrow(RangeError);
  });

  it('computes modPow', () => {
    expect(modPow(4n, 13n, 497n)).toBe(445n);
    expect(modPow(2n, 0n, 7n)).toBe(1n);
  });

  it('takes the pool name after the underscore', () => {
    expect(poolNameOf('eu-west-1_AbC123')).toBe('AbC123');
    expect(() => poolNameOf('nounderscore')).toThrow(RangeError);
  });
});

describe('SRP timestamp', () => {
  it('formats as "ddd MMM d HH:mm:ss UTC yyyy" with an unpadded day', () => {
    expect(formatSrpTimestamp(new Date(Date.UTC(2026, 10, 5, 7, 3, 9)))).toBe('Thu Nov 5 07:03:09 UTC 2026');
  });

  it('parses both day forms and refuses a wrong weekday or shape', () => {
    const ms = Date.UTC(2026, 10, 5, 7, 3, 9);
    expect(parseSrpTimestamp('Thu Nov 5 07:03:09 UTC 2026')).toBe(ms);
    expect(parseSrpTimestamp('Thu Nov 05 07:03:09 UTC 2026')).toBe(ms);
    expect(parseSrpTimestamp('Fri Nov 5 07:03:09 UTC 2026')).toBeUndefined();
    expect(parseSrpTimestamp('Thu Nov 31 07:03:09 UTC 2026')).toBeUndefined();
    expect(parseSrpTimestamp('2026-11-05T07:03:09Z')).toBeUndefined();
  });
});
