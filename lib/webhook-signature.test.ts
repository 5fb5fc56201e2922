import { describe, expect, it } from 'vitest';
import { base64ToBytes } from './encoding.ts';
import { generateWebhookSecret, signWebhook, verifyWebhook, webhookHeaders, webhookSecretBytes } from './webhook-signature.ts';

// The Standard Webhooks specification's published example.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};
const at = VECTOR.timestamp * 1000;

describe('Standard Webhooks signatures', () => {
  it('reproduces the specification vector', async () => {
    expect(await signWebhook(VECTOR.secret, VECTOR)).toBe(VECTOR.signature);
    expect(await signWebhook(VECTOR.secret.slice('whsec_'.length), VECTOR)).toBe(VECTOR.signature);
    expect(await webhookHeaders(VECTOR.secret, VECTOR)).toEqual({ 'webhook-id': VECTOR.id, 'webhook-timestamp': '1614265330', 'webhook-signature': VECTOR.signature });
  });

  it('verifies the vector, also among several signatures, and nothing altered', async () => {
    const headers = { id: VECTOR.id, timestamp: String(VECTOR.timestamp), signature: VECTOR.signature };
    expect(await verifyWebhook(VECTOR.secret, headers, VECTOR.body, { now: at })).toBe(true);
    expect(await verifyWebhook(VECTOR.secret, { ...headers, signature: `v1,AAAA ${VECTOR.signature}` }, VECTOR.body, { now: at })).toBe(true);
    expect(await verifyWebhook(VECTOR.secret, headers, '{"test": 2432232315}', { now: at })).toBe(false);
    expect(await verifyWebhook(VECTOR.secret, { ...headers, id: 'msg_other' }, VECTOR.body, { now: at })).toBe(false);
    expect(await verifyWebhook(VECTOR.secret, { ...headers, timestamp: '1614265331' }, VECTOR.body, { now: at })).toBe(false);
    expect(await verifyWebhook(generateWebhookSecret(), headers, VECTOR.body, { now: at })).toBe(false);
  });

  it('refuses a timestamp outside the tolerance (replay)', async () => {
    const headers = { id: VECTOR.id, timestamp: String(VECTOR.timestamp), signature: VECTOR.signature };
    expect(await verifyWebhook(VECTOR.secret, headers, VECTOR.body, { now: at + 301_000 })).toBe(false);
    expect(await verifyWebhook(VECTOR.secret, headers, VECTOR.body, { now: at - 301_000 })).toBe(false);
    expect(await verifyWebhook(VECTOR.secret, { ...headers, timestamp: '1e9' }, VECTOR.body, { now: at })).toBe(false);
  });

  it('generates whsec_ secrets of 32 random bytes', () => {
    const a = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(base64ToBytes(a.slice(6)).length).toBe(32);
    expect(webhookSecretBytes(a).length).toBe(32);
    expect(generateWebhookSecret()).not.toBe(a);
    expect(() => webhookSecretBytes('whsec_')).toThrow(TypeError);
  });
});
