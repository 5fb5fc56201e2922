/**
 * Field conditions, `<field><op><value>`, over declared payload fields: used by `/search?where=` (as SQL) and by the
 * business rules (evaluated on the decrypted payload). One parser, so both read the same way.
 */
import type { FieldDef } from './config.ts';

/** A comparison operator; `~` is "contains" (strings). */
export type Op = '=' | '!=' | '>' | '>=' | '<' | '<=' | '~';

/** A parsed condition. */
export type Condition = { field: FieldDef; op: Op; value: number | string | boolean };

const PATTERN = /^([a-z][a-z0-9_]*)(>=|<=|!=|=|>|<|~)(.*)$/s;

/** Parses `<field><op><value>` against the declared fields; the error names the problem. */
export function parseCondition(text: string, fields: ReadonlyMap<string, FieldDef>): { ok: true; condition: Condition } | { ok: false; error: string } {
  const m = PATTERN.exec(text.trim());
  if (!m?.[1] || !m[2] || m[3] === undefined) return { ok: false, error: `"${text}" is not <field><op><value> with op one of = != > >= < <= ~` };
  const field = fields.get(m[1]);
  if (!field) return { ok: false, error: `"${m[1]}" is not a declared field (declared: ${[...fields.keys()].join(', ') || 'none'})` };
  const op = m[2] as Op;
  const raw = m[3];
  if (field.type === 'number') {
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) return { ok: false, error: `"${raw}" is not a number (field ${field.name} is a number)` };
    if (op === '~') return { ok: false, error: `~ (contains) needs a string field; ${field.name} is a number` };
    return { ok: true, condition: { field, op, value } };
  }
  if (field.type === 'boolean') {
    if (raw !== 'true' && raw !== 'false') return { ok: false, error: `"${raw}" is not true or false (field ${field.name} is a boolean)` };
    if (op !== '=' && op !== '!=') return { ok: false, error: `a boolean field (${field.name}) takes only = or !=` };
    return { ok: true, condition: { field, op, value: raw === 'true' } };
  }
  return { ok: true, condition: { field, op, value: raw } };
}

/** The value at a dotted path of a JSON value. */
export function valueAt(payload: unknown, path: string): unknown {
  let v: unknown = payload;
  for (const key of path.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** True when the payload satisfies the condition (a missing or mistyped value never does). */
export function matches(payload: unknown, c: Condition): boolean {
  const v = valueAt(payload, c.field.path);
  if (typeof v !== typeof c.value) return false;
  if (c.op === '~') return typeof v === 'string' && v.includes(String(c.value));
  const a = v as number | string | boolean;
  const b = c.value;
  switch (c.op) {
    case '=': return a === b;
    case '!=': return a !== b;
    case '>': return a > b;
    case '>=': return a >= b;
    case '<': return a < b;
    case '<=': return a <= b;
  }
}

/** The SQL expression of a declared field (the same text as its expression index, so the index is used). */
export const fieldSql = (f: FieldDef, column = 'payload'): string => `json_extract(${column}, '$.${f.path}')`;

/** The condition as SQL with its bound value. */
export function conditionSql(c: Condition, column = 'payload'): { sql: string; value: number | string } {
  const expr = fieldSql(c.field, column);
  const value = typeof c.value === 'boolean' ? (c.value ? 1 : 0) : c.value;
  if (c.op === '~') return { sql: `instr(${expr}, ?) > 0`, value };
  // A typed comparison: json_extract yields SQL values of the JSON type, so a string never equals a number.
  const jsonType = `json_type(${column}, '$.${c.field.path}')`;
  const typeCheck = c.field.type === 'number' ? `${jsonType} IN ('integer','real')` : c.field.type === 'boolean' ? `${jsonType} IN ('true','false')` : `${jsonType} = 'text'`;
  return { sql: `(${typeCheck} AND ${expr} ${c.op === '!=' ? '<>' : c.op} ?)`, value };
}
