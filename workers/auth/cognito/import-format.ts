/**
 * Reading a Cognito user export for `npm run admin -- import cognito`: the JSON of `aws cognito-idp list-users`
 * (`{"Users":[…]}`, a bare array, or one page per line), AdminGetUser-shaped items (`UserAttributes`), or the CSV of
 * Cognito's user import/export (header row with `cognito:username`, `email`, …, and `sub` when the export has it).
 * A non-standard `Groups: [...]` member on a user is honoured; `list-users-in-group` files give memberships too.
 */

/** One user as the import stores it. `sub` is kept as the user id, so tokens keep their subject. */
export type CognitoImportEntry = {
  label: string;
  sub: string | undefined;
  username: string;
  email: string | undefined;
  emailVerified: boolean;
  enabled: boolean;
  federated: boolean;
  attributes: Record<string, string>;
  groups: string[];
  identities: { providerName: string; userId: string }[];
};

type RawUser = Record<string, unknown>;

/** Attributes that live in their own columns, or that Gatehouse derives, rather than in `users.attributes`. */
const OWN_COLUMNS = new Set(['sub', 'email', 'email_verified', 'identities', 'cognito:username', 'cognito:mfa_enabled']);

function toEntry(raw: RawUser, label: string): CognitoImportEntry {
  const list = (Array.isArray(raw.Attributes) ? raw.Attributes : Array.isArray(raw.UserAttributes) ? raw.UserAttributes : []) as unknown[];
  const attrs: Record<string, string> = {};
  for (const a of list) {
    if (a && typeof a === 'object' && 'Name' in a && typeof a.Name === 'string') attrs[a.Name] = 'Value' in a && typeof a.Value === 'string' ? a.Value : '';
  }
  return fromAttributes(attrs, {
    label,
    username: typeof raw.Username === 'string' ? raw.Username : '',
    enabled: raw.Enabled !== false,
    status: typeof raw.UserStatus === 'string' ? raw.UserStatus : '',
    groups: Array.isArray(raw.Groups) ? raw.Groups.filter((g): g is string => typeof g === 'string') : [],
  });
}

function fromAttributes(attrs: Record<string, string>, meta: { label: string; username: string; enabled: boolean; status: string; groups: string[] }): CognitoImportEntry {
  let identities: CognitoImportEntry['identities'] = [];
  try {
    const parsed: unknown = attrs.identities ? JSON.parse(attrs.identities) : [];
    if (Array.isArray(parsed)) {
      identities = parsed.flatMap((i: unknown) =>
        i && typeof i === 'object' && 'providerName' in i && 'userId' in i && typeof i.providerName === 'string' && typeof i.userId === 'string' ? [{ providerName: i.providerName, userId: i.userId }] : [],
      );
    }
  } catch {
    /* an unreadable identities attribute is left out */
  }
  const attributes = Object.fromEntries(Object.entries(attrs).filter(([name, value]) => !OWN_COLUMNS.has(name) && value !== ''));
  return {
    label: meta.label,
    sub: attrs.sub || undefined,
    username: meta.username || attrs['cognito:username'] || '',
    email: attrs.email ? attrs.email.trim().toLowerCase() : undefined,
    emailVerified: attrs.email_verified === 'true' || attrs.email_verified === 'TRUE',
    enabled: meta.enabled,
    federated: meta.status === 'EXTERNAL_PROVIDER' || identities.length > 0,
    attributes,
    groups: meta.groups,
    identities,
  };
}

/** Splits one CSV line (RFC 4180 quoting) into fields. */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') out.push(field), (field = '');
    else field += ch;
  }
  out.push(field);
  return out;
}

/** Parses Cognito's CSV user export; quoted fields may not span lines (Cognito's export never breaks them). */
export function parseCognitoCsv(text: string): CognitoImportEntry[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = csvFields(lines[0] ?? '').map((h) => h.trim());
  if (!header.includes('email') && !header.includes('cognito:username')) throw new Error('the CSV has no email or cognito:username column');
  return lines.slice(1).map((line, i) => {
    const cells = csvFields(line);
    const attrs = Object.fromEntries(header.map((h, j) => [h, (cells[j] ?? '').trim()]));
    const enabled = (attrs.enabled ?? 'true').toLowerCase() !== 'false';
    return fromAttributes(attrs, { label: `line ${i + 2}`, username: attrs['cognito:username'] ?? '', enabled, status: attrs.status ?? '', groups: [] });
  });
}

/** Parses a ListUsers JSON export (object with Users, array, or JSON lines); throws on anything else. */
export function parseListUsersJson(text: string): CognitoImportEntry[] {
  const docs: unknown[] = [];
  try {
    docs.push(JSON.parse(text));
  } catch {
    for (const line of text.split(/\r?\n/)) if (line.trim()) docs.push(JSON.parse(line));
  }
  const users: RawUser[] = docs.flatMap((d) => (Array.isArray(d) ? d : d && typeof d === 'object' && 'Users' in d && Array.isArray(d.Users) ? d.Users : [d])) as RawUser[];
  return users.map((u, i) => toEntry(u, `user ${i + 1}`));
}

/** Parses a file by its content: JSON when it starts with `{` or `[`, CSV otherwise. */
export function parseCognitoExport(text: string): CognitoImportEntry[] {
  const trimmed = text.trimStart().replace(/^\uFEFF/, '');
  return trimmed.startsWith('{') || trimmed.startsWith('[') ? parseListUsersJson(trimmed) : parseCognitoCsv(trimmed);
}

/** Adds a group to every entry a `list-users-in-group` export names (matched by `sub`, then by username). */
export function applyGroupExport(entries: CognitoImportEntry[], group: string, members: CognitoImportEntry[]): number {
  let matched = 0;
  for (const member of members) {
    const entry = entries.find((e) => (member.sub && e.sub === member.sub) || (member.username && e.username === member.username));
    if (entry && !entry.groups.includes(group)) {
      entry.groups.push(group);
      matched++;
    }
  }
  return matched;
}
