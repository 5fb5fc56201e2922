import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { utf8 } from '../../lib/encoding.ts';
import { Problem } from '../../lib/errors.ts';
import { canonicalJson, type JsonValue } from '../../lib/records/canonical.ts';
import { MAX_RECORD_BODY_BYTES } from '../../lib/records/limits.ts';
import { verifyRecordSignature } from '../../lib/records/signature.ts';
import { database } from '../db.ts';
import type { OrgEnv } from './caller.ts';
import { validate } from '../validate.ts';
import { keysOfUse } from './key-store.ts';
import { makeCursor, readCursor } from './log-cursor.ts';
import { notifyOrgLog } from './notify.ts';
import { requireOrg } from './org-store.ts';
import { appendEntries, findSignedRecord, pageLog, recordViewOf } from './record-store.ts';
import { appendRecordBody, orgParams, recordsQuery } from './schemas.ts';

const tooLarge = () => {
  throw new Problem(413, 'Payload Too Large', { detail: `A record body is at most ${MAX_RECORD_BODY_BYTES} bytes.`, type: 'urn:gatehouse:problem:too-large' });
};

/**
 * `GET /api/orgs/:orgId/records` pages the organisation's log oldest first after an opaque cursor (log-cursor.ts);
 * `POST /api/orgs/:orgId/records` appends a record signed with the organisation's active signing key, verified here
 * against the registered public key. Any member may do both: the signature, not the role, authorises a record. So
 * may a bound app client (a connector); its records carry no `userId`.
 */
export const recordRoutes = new Hono<OrgEnv>()
  .get('/:orgId/records', validate('param', orgParams), validate('query', recordsQuery), async (c) => {
    const db = database(c.env.DB);
    const { orgId } = c.req.valid('param');
    const { after, limit } = c.req.valid('query');
    await requireOrg(db, orgId, c.get('caller'));
    const afterSeq = await readCursor(c.env, `org:${orgId}`, after);
    const { rows, hasMore } = await pageLog(db, { orgId }, afterSeq, limit);
    const cursor = await makeCursor(c.env, `org:${orgId}`, rows.at(-1)?.seq ?? afterSeq);
    return c.json({ records: rows.map(recordViewOf), cursor, hasMore }, 200, { 'Cache-Control': 'no-store' });
  })
  .post('/:orgId/records', bodyLimit({ maxSize: MAX_RECORD_BODY_BYTES, onError: tooLarge }), validate('param', orgParams), validate('json', appendRecordBody), async (c) => {
    const db = database(c.env.DB);
    const { orgId } = c.req.valid('param');
    const me = c.get('caller');
    await requireOrg(db, orgId, me);
    const { id, type, time, payload, signature } = c.req.valid('json');
    const keys = new Map((await keysOfUse(db, orgId, 'sig')).map((k) => [k.kid, { jwk: k.jwk, status: k.status }]));
    const check = await verifyRecordSignature({ id, orgId, type, time, payload: payload as JsonValue }, signature, (kid) => keys.get(kid), { requireActive: true });
    if (!check.ok) {
      const status = check.reason === 'malformed' ? 400 : 422;
      throw new Problem(status, status === 400 ? 'Bad Request' : 'Unprocessable Content', {
        detail: check.detail,
        type: `urn:gatehouse:problem:record-signature`,
        errors: [{ path: 'signature', message: check.reason }],
      });
    }
    const text = canonicalJson(payload);
    const [seq] = await appendEntries(db, [
      { id, kind: 'record', orgId, deviceId: null, userId: me.kind === 'user' ? me.id : null, type, time, payloadFormat: 'json', payload: text, encKid: null, signature, sigKid: check.kid, size: utf8(text).length },
    ]);
    const stored = await findSignedRecord(db, orgId, id);
    if (!stored) throw new Error('signed record vanished after insert');
    if (seq === null || seq === undefined) {
      if (stored.signature !== signature) {
        throw new Problem(409, 'Conflict', { detail: `A different record with id ${id} is already in the log; record ids are never reused.`, type: 'urn:gatehouse:problem:conflict' });
      }
      return c.json({ status: 'duplicate' as const, record: recordViewOf(stored) }, 200);
    }
    notifyOrgLog(c, orgId);
    return c.json({ status: 'stored' as const, record: recordViewOf(stored) }, 201);
  });
