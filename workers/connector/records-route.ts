/**
 * `POST /records`: a member writes a record through the connector, which signs it with the organisation's signing
 * key (ORG_SIGNING_KEY), optionally encrypts its payload to the organisation's current key, and appends it to the
 * platform with the member's own token; the platform verifies the signature. Idempotent on `id`.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { Problem } from '../../lib/errors.ts';
import { recordId, recordTime, recordType } from '../../lib/records/event.ts';
import { MAX_PAYLOAD_BYTES } from '../../lib/records/limits.ts';
import { sealPayload } from '../../lib/records/open.ts';
import { signRecord } from '../../lib/records/signature.ts';
import { validate } from '../validate.ts';
import type { ConnectorEnv } from './env.ts';
import { orgKeys } from './keys.ts';
import { platformClient, PlatformError, serviceCredentials, serviceToken } from './platform.ts';

const body = z.strictObject({
  id: recordId.optional(),
  type: recordType,
  time: recordTime.optional(),
  payload: z.json().refine((p) => new TextEncoder().encode(JSON.stringify(p)).length <= MAX_PAYLOAD_BYTES, `must be at most ${MAX_PAYLOAD_BYTES} bytes of JSON`),
  encrypt: z.boolean().default(false),
});

/** The route. */
export const appendRoute = new Hono<ConnectorEnv>().post('/records', validate('json', body), async (c) => {
  const { settings, caller } = c.var;
  const input = c.req.valid('json');
  const keys = await orgKeys(c.env);
  const content = { id: input.id ?? crypto.randomUUID(), orgId: settings.orgId, type: input.type, time: input.time ?? new Date().toISOString(), payload: input.encrypt ? await sealPayload(input.payload, keys.sealing) : input.payload };
  const signature = await signRecord(content, keys.signing.key, { kid: keys.signing.kid, alg: keys.signing.alg });
  const creds = serviceCredentials(c.env);
  const client = platformClient(settings, (fresh) => serviceToken(settings, creds, { fresh }));
  try {
    // The member's own token when there is one, so the platform records who wrote it; the service identity otherwise.
    const answer = await client.append({ id: content.id, type: content.type, time: content.time, payload: content.payload, signature }, caller.token ?? undefined);
    return c.json(answer, answer.status === 'stored' ? 201 : 200);
  } catch (e) {
    if (e instanceof PlatformError && (e.status === 409 || e.status === 400 || e.status === 422)) {
      throw new Problem(e.status === 409 ? 409 : 422, e.status === 409 ? 'Conflict' : 'Unprocessable Content', { detail: `The platform refused the record: ${e.message}` });
    }
    if (e instanceof PlatformError) throw new Problem(502, 'Bad Gateway', { detail: `The platform refused the record: ${e.message}` });
    throw e;
  }
});
