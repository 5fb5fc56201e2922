import { lt } from 'drizzle-orm';
import { deviceJti } from '../../../schema/index.ts';
import type { Database } from '../../db.ts';

// Expired rows are swept by a few accepted JWTs in a hundred, so the table stays small without a scheduled job.
const SWEEP_PROBABILITY = 0.02;

/**
 * Records a device JWT's `jti` until `expiresAt`; false when the device already used it (a replay, RFC 7519 §4.1.7).
 * One INSERT … ON CONFLICT DO NOTHING RETURNING decides, so two parallel uses of one JWT get one true.
 */
export async function rememberJti(db: Database, deviceId: string, jti: string, expiresAt: number, now = Date.now()): Promise<boolean> {
  const inserted = await db.insert(deviceJti).values({ deviceId, jti, expiresAt }).onConflictDoNothing().returning({ jti: deviceJti.jti });
  if (inserted.length === 1 && Math.random() < SWEEP_PROBABILITY) await db.delete(deviceJti).where(lt(deviceJti.expiresAt, now));
  return inserted.length === 1;
}
