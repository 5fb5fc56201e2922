import { Problem } from '../../lib/errors.ts';
import { cursorKey, decodeCursor, encodeCursor, type CursorScope } from '../../lib/records/cursor.ts';

/**
 * The server side of log cursors: the key comes from the optional secret `RECORDS_CURSOR_KEY`, else is derived from
 * `SESSION_COOKIE_KEY` (HKDF with a purpose-specific label, so the two uses never share a key).
 */

/** `Env` with the optional cursor secret. */
export type CursorBindings = Env & { RECORDS_CURSOR_KEY?: string };

/** The HMAC key cursors are made and checked with. */
export const logCursorKey = (env: Env): Promise<CryptoKey> => cursorKey((env as CursorBindings).RECORDS_CURSOR_KEY || env.SESSION_COOKIE_KEY);

/** The cursor for "after `seq`" in a scope. */
export async function makeCursor(env: Env, scope: CursorScope, seq: number): Promise<string> {
  return encodeCursor(await logCursorKey(env), scope, seq);
}

/** The sequence number an `after` cursor stands for (0 without one), or 400 when it is not a cursor of this log. */
export async function readCursor(env: Env, scope: CursorScope, after: string | undefined): Promise<number> {
  if (after === undefined) return 0;
  const seq = await decodeCursor(await logCursorKey(env), scope, after);
  if (seq === undefined) {
    throw new Problem(400, 'Bad Request', {
      detail: 'The cursor `after` is not one this log issued (altered, truncated, or from another log).',
      type: 'urn:gatehouse:problem:invalid-cursor',
      errors: [{ path: 'after', message: 'is not a valid cursor' }],
    });
  }
  return seq;
}
