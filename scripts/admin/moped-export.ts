/**
 * Reading a DynamoDB JSON export of the Moped claims table (`user_id` = email, `claims` = Fernet token of the claims JSON,
 * `cognito_uuid`, `database_id`, `workgroup_id`) into import entries. Two export shapes are accepted:
 * - `aws dynamodb scan --output json`: one document `{"Items":[{…}, …]}`;
 * - DynamoDB's export to S3 (DYNAMODB_JSON): one `{"Item":{…}}` per line (gunzip the `.json.gz` data files, or pass them as they are).
 */
import { gunzipSync } from 'node:zlib';
import { base64ToBytes, fromUtf8 } from '../../lib/encoding.ts';
import { InvalidFernetToken, type MultiFernet } from '../../lib/fernet.ts';
import { claimsFailure, openClaims, type ImportEntry } from '../../workers/auth/store/claims-admin.ts';
import { emailSchema } from '../../workers/auth/store/user-admin.ts';

/** One item of an export, with where it was found; `error` when the item itself could not be read. */
export type ExportRecord = { label: string; item: Record<string, unknown> } | { label: string; error: string };

/** An item that cannot be imported, and why. */
export type ItemFailure = { label: string; userId: string | null; reason: string };

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Converts one DynamoDB attribute value (`{"S":…}`, `{"N":…}`, `{"M":…}`, …) to plain JSON; numbers stay as their exact text. */
export function unmarshall(value: unknown): unknown {
  if (!isRecord(value)) throw new TypeError('not a DynamoDB attribute value');
  const [type, inner] = Object.entries(value)[0] ?? [];
  switch (type) {
    case 'S':
    case 'N':
      if (typeof inner === 'string') return inner;
      break;
    case 'B':
      if (typeof inner === 'string') return base64ToBytes(inner);
      break;
    case 'BOOL':
      if (typeof inner === 'boolean') return inner;
      break;
    case 'NULL':
      return null;
    case 'M':
      if (isRecord(inner)) return unmarshallItem(inner);
      break;
    case 'L':
      if (Array.isArray(inner)) return inner.map(unmarshall);
      break;
    case 'SS':
    case 'NS':
    case 'BS':
      if (Array.isArray(inner)) return inner.map((v: unknown) => unmarshall({ [type.slice(0, 1)]: v }));
      break;
  }
  throw new TypeError(`unsupported DynamoDB attribute value ${JSON.stringify(Object.keys(value))}`);
}

/** Converts a DynamoDB item (attribute name → attribute value) to a plain object. */
export const unmarshallItem = (item: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(item).map(([name, value]) => [name, unmarshall(value)]));

function record(label: string, raw: unknown): ExportRecord {
  try {
    if (!isRecord(raw)) throw new TypeError('not an object');
    return { label, item: unmarshallItem(raw) };
  } catch (err) {
    return { label, error: `unreadable item: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Reads an export file's bytes (gzip or not) in either shape into records, in file order. */
export function parseDynamoExport(bytes: Uint8Array): ExportRecord[] {
  const text = fromUtf8(bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).trim();
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch {
    whole = undefined;
  }
  if (isRecord(whole) && Array.isArray(whole.Items)) return whole.Items.map((raw: unknown, i) => record(`item ${i + 1}`, raw));
  return text.split('\n').flatMap((line, i): ExportRecord[] => {
    if (line.trim() === '') return [];
    const label = `line ${i + 1}`;
    try {
      const parsed: unknown = JSON.parse(line);
      return [isRecord(parsed) && 'Item' in parsed ? record(label, parsed.Item) : { label, error: 'neither {"Items":[…]} nor {"Item":{…}} lines' }];
    } catch {
      return [{ label, error: 'not JSON' }];
    }
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : value instanceof Uint8Array ? fromUtf8(value) : undefined);

/** Moped's extra attributes, kept as Hasura session variables when the claims do not already carry them. */
const EXTRA_CLAIMS = [
  ['database_id', 'x-hasura-user-db-id'],
  ['workgroup_id', 'x-hasura-user-workgroup-id'],
] as const;

/** Checks a Moped item and decrypts its claims with the old key(s) into an import entry, or says why it cannot be imported. */
export async function decodeMopedItem(rec: ExportRecord, oldKeys: MultiFernet): Promise<ImportEntry | ItemFailure> {
  if ('error' in rec) return { label: rec.label, userId: null, reason: rec.error };
  const fail = (reason: string): ItemFailure => ({ label: rec.label, userId: text(rec.item.user_id) ?? null, reason });
  const userId = text(rec.item.user_id);
  if (!userId) return fail('missing user_id');
  const email = emailSchema.safeParse(userId);
  if (!email.success) return fail('user_id is not an email address');
  const uuid = text(rec.item.cognito_uuid)?.trim();
  if (!uuid) return fail('missing cognito_uuid');
  if (!UUID.test(uuid)) return fail('cognito_uuid is not a UUID');
  const token = text(rec.item.claims)?.trim();
  if (!token) return fail('missing claims');

  let claims: Record<string, unknown>;
  try {
    claims = await openClaims(oldKeys, token);
  } catch (err) {
    return fail(`${err instanceof InvalidFernetToken ? 'bad token' : 'bad JSON'}: ${claimsFailure(err)}`);
  }
  const names = new Set(Object.keys(claims).map((k) => k.toLowerCase()));
  for (const [attribute, claim] of EXTRA_CLAIMS) {
    const value = rec.item[attribute];
    if (value !== undefined && value !== null && !names.has(claim)) claims[claim] = String(value);
  }
  return { id: uuid, email: email.data, claims };
}
