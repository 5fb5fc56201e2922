import { eq } from 'drizzle-orm';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { Problem } from '../../../lib/errors.ts';
import { cleanSerialNumber } from '../../../lib/pki/ids.ts';
import { organisations } from '../../../schema/index.ts';
import type { AppEnv } from '../../app-env.ts';
import { database } from '../../db.ts';
import { validate } from '../../validate.ts';
import { provisioningConfig } from '../config.ts';
import { createOtp, listOtps, otpView, revokeOtp, type OtpStatus } from '../store/otps.ts';
import { PROV_ADMIN_ACTOR } from './auth.ts';
import { optionalJsonBody } from './optional-json.ts';

const serial = z
  .string()
  .refine((s) => cleanSerialNumber(s) !== null, 'must be 1–64 PrintableString characters (letters, digits, space and \'()+,-./:=?)')
  .transform((s) => cleanSerialNumber(s) ?? s);

const fields = {
  serial: serial.optional(),
  note: z.string().trim().max(500).optional(),
  /** The organisation the enrolled device joins (workers/orgs); it must exist. */
  orgId: z.string().min(1).max(100).optional(),
};

/** The optional body of `POST /admin/api/otp`; unknown fields are ignored. */
export const otpRequestBody = z.object({ ttlSeconds: z.number().int().min(60).optional(), ...fields });
/** The same settings as query parameters, for `GET /admin/api/otp`. */
export const otpRequestQuery = z.object({ ttlSeconds: z.coerce.number().int().min(60).optional(), ...fields });

const listQuery = z.object({
  status: z.enum(['active', 'used', 'revoked', 'expired'] satisfies OtpStatus[]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const NO_STORE = { 'Cache-Control': 'no-store' };

async function issue(c: Context<AppEnv>, input: z.infer<typeof otpRequestBody>, status: 200 | 201) {
  const config = provisioningConfig(c.env);
  const ttlSeconds = input.ttlSeconds ?? config.otpTtlSeconds;
  if (ttlSeconds > config.otpMaxTtlSeconds) {
    throw new Problem(400, 'Bad Request', {
      detail: 'The request json is invalid.',
      type: 'urn:gatehouse:problem:validation',
      errors: [{ path: 'ttlSeconds', message: `must be at most ${config.otpMaxTtlSeconds}` }],
    });
  }
  const db = database(c.env.DB);
  if (input.orgId && !(await db.query.organisations.findFirst({ where: eq(organisations.id, input.orgId), columns: { id: true } }))) {
    throw new Problem(400, 'Bad Request', {
      detail: 'The request json is invalid.',
      type: 'urn:gatehouse:problem:validation',
      errors: [{ path: 'orgId', message: 'no such organisation' }],
    });
  }
  const now = Date.now();
  const { otp, row } = await createOtp(
    db,
    { ttlSeconds, serial: input.serial ?? null, note: input.note || null, orgId: input.orgId ?? null },
    { actor: PROV_ADMIN_ACTOR, requestId: c.get('requestId') },
    now,
  );
  c.get('log').info('otp issued', { otpId: row.id, serialBound: row.serial !== null });
  // The OTP is a secret shown once: never cached anywhere on the way.
  return c.json({ id: row.id, otp, expiresAt: new Date(row.expiresAt).toISOString(), serial: row.serial, note: row.note, orgId: input.orgId ?? null }, status, NO_STORE);
}

/**
 * The admin OTP endpoints: issue (`POST /admin/api/otp` with an optional JSON body, or `GET` with the same settings as
 * query parameters, for the original `curl -H 'Authorization: PROV-ADMIN …' …/api/otp` habit), list, and revoke.
 */
export const otpAdmin = new Hono<AppEnv>()
  .post('/admin/api/otp', optionalJsonBody(), validate('json', otpRequestBody), (c) => issue(c, c.req.valid('json'), 201))
  .get('/admin/api/otp', validate('query', otpRequestQuery), (c) => issue(c, c.req.valid('query'), 200))
  .get('/admin/api/otps', validate('query', listQuery), async (c) => {
    const { status, limit } = c.req.valid('query');
    const now = Date.now();
    const rows = await listOtps(database(c.env.DB), { status, limit }, now);
    return c.json({ otps: rows.map((r) => otpView(r, now)) }, 200, NO_STORE);
  })
  .delete('/admin/api/otps/:id', async (c) => {
    const id = c.req.param('id');
    const outcome = await revokeOtp(database(c.env.DB), id, { actor: PROV_ADMIN_ACTOR, requestId: c.get('requestId') });
    if (outcome === 'not_found') throw new Problem(404, 'Not Found', { detail: `No OTP ${id}.`, type: 'urn:gatehouse:problem:not-found' });
    if (outcome === 'used') throw new Problem(409, 'Conflict', { detail: `OTP ${id} was already used.`, type: 'urn:gatehouse:problem:conflict' });
    return c.body(null, 204);
  });
