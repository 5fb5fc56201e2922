/**
 * `ListUsers` with Cognito's pagination (an opaque PaginationToken, at most 60 users a page, in username order) and its
 * basic filter: `attribute = "value"` or `attribute ^= "value"` (prefix) on username, email, sub, cognito:user_status,
 * status ("Enabled"/"Disabled"), and the standard attributes name, given_name, family_name, preferred_username, phone_number.
 */
import { and, asc, gt, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { base64ToBytes, bytesToBase64Url, fromUtf8, utf8 } from '../../../../lib/encoding.ts';
import { users } from '../../../../schema/index.ts';
import { userType } from '../attributes.ts';
import { invalidParameter } from '../errors.ts';
import { defineOperation, fields } from '../operation.ts';
import { requirePool } from './admin-common.ts';

const FILTER = /^\s*([\w:]+)\s*(\^?=)\s*"((?:[^"\\]|\\.)*)"\s*$/;
const JSON_ATTRIBUTES = new Set(['name', 'given_name', 'family_name', 'preferred_username', 'phone_number']);

/** The column or expression a filterable attribute reads. */
function column(attribute: string): SQL | undefined {
  if (attribute === 'username') return sql`${users.username}`;
  if (attribute === 'email') return sql`${users.email}`;
  if (attribute === 'sub') return sql`${users.id}`;
  if (attribute === 'cognito:user_status') return sql`${users.status}`;
  if (attribute === 'status') return sql`(CASE WHEN ${users.enabled} THEN 'Enabled' ELSE 'Disabled' END)`;
  if (JSON_ATTRIBUTES.has(attribute)) return sql`json_extract(${users.attributes}, ${`$."${attribute}"`})`;
  return undefined;
}

/** Parses a Filter into a WHERE condition; an unsupported attribute or shape is InvalidParameterException. */
export function parseFilter(filter: string): SQL | undefined {
  if (!filter.trim()) return undefined;
  const m = FILTER.exec(filter);
  if (!m) throw invalidParameter('Error while parsing filter.');
  const [, attribute = '', op, raw = ''] = m;
  const target = column(attribute);
  if (!target) throw invalidParameter(`Invalid search attribute: ${attribute}`);
  const value = raw.replace(/\\(.)/g, '$1');
  const needle = attribute === 'email' || attribute === 'username' ? value.toLowerCase() : value;
  return op === '=' ? sql`${target} = ${needle}` : sql`substr(${target}, 1, ${needle.length}) = ${needle}`;
}

const encodeToken = (after: string) => bytesToBase64Url(utf8(JSON.stringify({ after })));

function decodeToken(token: string): string {
  try {
    const parsed: unknown = JSON.parse(fromUtf8(base64ToBytes(token)));
    if (parsed && typeof parsed === 'object' && 'after' in parsed && typeof parsed.after === 'string') return parsed.after;
  } catch {
    /* falls through to the error */
  }
  throw invalidParameter('Invalid pagination token.');
}

/** `ListUsers`. */
export const listUsers = defineOperation({
  admin: true,
  input: z.object({
    UserPoolId: fields.userPoolId,
    AttributesToGet: z.array(z.string().min(1).max(32)).max(100).optional(),
    Limit: z.number().int().min(0).max(60).optional(),
    PaginationToken: z.string().min(1).max(1024).optional(),
    Filter: z.string().max(256).optional(),
  }),
  run: async (ctx, input) => {
    requirePool(ctx, input.UserPoolId);
    const limit = input.Limit || 60;
    const conditions = [parseFilter(input.Filter ?? ''), input.PaginationToken ? gt(users.username, decodeToken(input.PaginationToken)) : undefined];
    const rows = await ctx.db
      .select()
      .from(users)
      .where(and(...conditions.filter((c): c is SQL => c !== undefined)))
      .orderBy(asc(users.username))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      Users: page.map((u) => userType(u, input.AttributesToGet)),
      ...(rows.length > limit && last ? { PaginationToken: encodeToken(last.username) } : {}),
    };
  },
});
