/**
 * The connector's configuration: the declared payload fields, the analytics and the business rules (one JSON file,
 * workers/connector/connector.config.json, or the CONNECTOR_CONFIG var), and the vars. Both are validated once per
 * isolate; a mistake is reported with the path of the offending member, never half-applied.
 */
import { z } from 'zod';
import bundled from './connector.config.json' with { type: 'json' };
import { parseCondition, type Condition } from './where.ts';

const name = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be 1–63 of a-z 0-9 _ starting with a letter');
const jsonPath = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'must be a dotted path of identifiers, e.g. site.name');
const recordType = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/, 'must be a record type');

/** A payload field the connector can filter, order, aggregate and index on. */
const field = z.strictObject({
  path: jsonPath,
  type: z.enum(['number', 'string', 'boolean']),
  /** An expression index on the field (for filters, ordering and analytics over it). */
  index: z.boolean().default(false),
});

const METRIC = /^(count|sum|avg|min|max|p([1-9][0-9]?))$/;

const analytic = z.strictObject({
  description: z.string().max(500).optional(),
  /** The record types aggregated (all types when omitted). */
  types: z.array(recordType).min(1).optional(),
  /** The declared numeric field the metrics are computed over (only `count` works without one). */
  field: name.optional(),
  metrics: z.array(z.string().regex(METRIC, 'must be count, sum, avg, min, max or pN (N = 1–99, nearest-rank percentile)')).min(1),
  groupBy: z.array(z.enum(['device', 'type', 'time'])).default([]),
  bucket: z.enum(['minute', 'hour', 'day']).optional(),
});

const rule = z.strictObject({
  name,
  when: z.strictObject({ type: recordType, where: z.array(z.string()).default([]) }),
  action: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('append'), type: recordType, encrypt: z.boolean().default(false) }),
    z.strictObject({
      kind: z.literal('webhook'),
      url: z.url({ protocol: /^https?$/ }),
      /** The name of the secret holding the Standard Webhooks signing secret (`whsec_…`). */
      secret: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must name a secret binding, e.g. RULE_WEBHOOK_SECRET'),
    }),
  ]),
  maxAttempts: z.number().int().min(1).max(100).default(10),
});

const configFile = z.strictObject({
  fields: z.record(name, field).default({}),
  analytics: z.record(name, analytic).default({}),
  rules: z.array(rule).default([]),
});

/** A declared payload field. */
export type FieldDef = z.output<typeof field> & { name: string };
/** A named aggregation. */
export type AnalyticDef = z.output<typeof analytic> & { name: string };
/** A business rule, its conditions parsed. */
export type RuleDef = z.output<typeof rule> & { conditions: Condition[] };

/** The validated configuration file. */
export type ConnectorConfig = { fields: Map<string, FieldDef>; analytics: Map<string, AnalyticDef>; rules: RuleDef[] };

/** The configuration is invalid; `issues` name each offending member. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`invalid connector configuration:\n  ${issues.join('\n  ')}`);
    this.issues = issues;
  }
}

/** Validates a configuration file's content (already parsed JSON); throws ConfigError listing every problem. */
export function parseConfig(raw: unknown): ConnectorConfig {
  const parsed = configFile.safeParse(raw);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.code === 'invalid_key' ? (i.issues[0]?.message ?? i.message) : i.message}`));
  const { fields: rawFields, analytics: rawAnalytics, rules: rawRules } = parsed.data;
  const issues: string[] = [];
  const fields = new Map(Object.entries(rawFields).map(([n, f]) => [n, { ...f, name: n }]));
  const analytics = new Map<string, AnalyticDef>();
  for (const [n, a] of Object.entries(rawAnalytics)) {
    const needsField = a.metrics.some((m) => m !== 'count');
    const f = a.field === undefined ? undefined : fields.get(a.field);
    if (a.field !== undefined && !f) issues.push(`analytics.${n}.field: "${a.field}" is not a declared field (declare it under "fields")`);
    else if (f && f.type !== 'number') issues.push(`analytics.${n}.field: "${a.field}" is a ${f.type} field; metrics need a number field`);
    else if (needsField && !f) issues.push(`analytics.${n}.field: metrics other than count need a declared number field`);
    if (a.groupBy.includes('time') !== (a.bucket !== undefined)) issues.push(`analytics.${n}.bucket: give a bucket (minute, hour or day) exactly when grouping by time`);
    analytics.set(n, { ...a, name: n });
  }
  const rules: RuleDef[] = [];
  const seen = new Set<string>();
  rawRules.forEach((r, i) => {
    if (seen.has(r.name)) issues.push(`rules.${i}.name: "${r.name}" is used by another rule`);
    seen.add(r.name);
    if (r.action.kind === 'append' && r.action.type === r.when.type) issues.push(`rules.${i}.action.type: must differ from when.type, or the rule would match its own records`);
    const conditions: Condition[] = [];
    r.when.where.forEach((w, j) => {
      const c = parseCondition(w, fields);
      if (c.ok) conditions.push(c.condition);
      else issues.push(`rules.${i}.when.where.${j}: ${c.error}`);
    });
    rules.push({ ...r, conditions });
  });
  if (issues.length) throw new ConfigError(issues);
  return { fields, analytics, rules };
}

/** The vars, validated. */
export type ConnectorSettings = {
  gatehouseUrl: string;
  orgId: string;
  auth: 'gatehouse' | 'none';
  pageSize: number;
  resyncSeconds: number;
  membershipCacheSeconds: number;
};

const intVar = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const settingsSchema = z.object({
  GATEHOUSE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).transform((u) => u.replace(/\/+$/, '')),
  ORG_ID: z.string().min(1, 'is required: the id of the organisation this connector serves'),
  CONNECTOR_AUTH: z.enum(['gatehouse', 'none'], { error: 'must be "gatehouse" or "none"' }),
  REPLICATION_PAGE_SIZE: intVar(1, 500),
  REPLICATION_RESYNC_SECONDS: intVar(1, 3600),
  MEMBERSHIP_CACHE_SECONDS: intVar(0, 3600),
});

/** Validates the vars. */
export function parseSettings(env: Pick<Env, keyof z.input<typeof settingsSchema>>): ConnectorSettings {
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const v = parsed.data;
  return {
    gatehouseUrl: v.GATEHOUSE_URL,
    orgId: v.ORG_ID,
    auth: v.CONNECTOR_AUTH,
    pageSize: v.REPLICATION_PAGE_SIZE,
    resyncSeconds: v.REPLICATION_RESYNC_SECONDS,
    membershipCacheSeconds: v.MEMBERSHIP_CACHE_SECONDS,
  };
}

const cache = new Map<string, ConnectorConfig>();

/** The configuration in force: CONNECTOR_CONFIG when set, else the bundled file; parsed once per distinct text. */
export function loadConfig(env: Pick<Env, 'CONNECTOR_CONFIG'>): ConnectorConfig {
  const text = env.CONNECTOR_CONFIG?.trim() || JSON.stringify(bundled);
  let config = cache.get(text);
  if (!config) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new ConfigError([`CONNECTOR_CONFIG: is not JSON (${e instanceof Error ? e.message : 'parse error'})`]);
    }
    config = parseConfig(raw);
    cache.set(text, config);
  }
  return config;
}
