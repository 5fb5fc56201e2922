/**
 * The connector Worker: an organisation's own Worker that replicates its end-to-end encrypted log from Gatehouse,
 * decrypts and indexes it, and serves search, analytics, business-rule history and signed appends to the
 * organisation's members. See README.md, "Connector", and ARCHITECTURE.md, "End-to-end encrypted data and the connector".
 */
import { Hono } from 'hono';
import { BearerError, Problem } from '../../lib/errors.ts';
import { runAnalytic, toCsv } from './analytics/run.ts';
import { requireAdmin, requireCaller } from './auth.ts';
import { ConfigError, loadConfig, parseSettings } from './config.ts';
import type { ConnectorEnv } from './env.ts';
import { relay } from './proxy.ts';
import { appendRoute } from './records-route.ts';
import { recordOut, RECORD_COLUMNS, type StoredRecord } from './search/record-out.ts';
import { search } from './search/search.ts';

export { Replicator } from './replicator.ts';

const replicator = (env: Env) => env.REPLICATOR.getByName('main');

const problem = (p: Problem) => {
  const body: Record<string, unknown> = { type: p.type, title: p.title, status: p.status };
  if (p.message !== p.title) body.detail = p.message;
  if (p.errors) body.errors = p.errors;
  return new Response(JSON.stringify(body), { status: p.status, headers: { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store', ...p.headers } });
};

const app = new Hono<ConnectorEnv>()
  .use(async function configure(c, next) {
    // Validated on every isolate's first request; a broken configuration answers 503 with the reason on /health.
    c.set('settings', parseSettings(c.env));
    c.set('config', loadConfig(c.env));
    c.set('requestId', c.req.header('cf-ray') ?? crypto.randomUUID());
    c.executionCtx.waitUntil(replicator(c.env).ensureRunning().catch(() => undefined));
    return next();
  })
  .get('/health', (c) => c.json({ status: 'ok', orgId: c.var.settings.orgId }))
  .use(requireCaller())
  .get('/replication/status', async (c) => c.json(await replicator(c.env).status(), 200, { 'Cache-Control': 'no-store' }))
  .post('/replication/backfill', async (c) => {
    requireAdmin(c.var.caller.role);
    await replicator(c.env).backfill();
    return c.json(await replicator(c.env).status(), 202);
  })
  .post('/replication/retry', async (c) => {
    requireAdmin(c.var.caller.role);
    return c.json(await replicator(c.env).retryFailed());
  })
  .get('/search', async (c) => {
    const q = c.req.query();
    return c.json(await search(c.env.DB, c.var.config, { ...q, where: c.req.queries('where') ?? [] }), 200, { 'Cache-Control': 'no-store' });
  })
  .get('/records/:id', async (c) => {
    const row = await c.env.DB.prepare(`SELECT ${RECORD_COLUMNS.join(', ')} FROM records WHERE id = ?`).bind(c.req.param('id')).first<StoredRecord>();
    if (!row) throw new Problem(404, 'Not Found', { detail: 'No replicated record has this id (yet).', type: 'urn:gatehouse:problem:not-found' });
    return c.json(recordOut(row), 200, { 'Cache-Control': 'no-store' });
  })
  .route('/', appendRoute)
  .get('/analytics', (c) => c.json({ analytics: [...c.var.config.analytics.values()].map((a) => ({ name: a.name, description: a.description ?? null, metrics: a.metrics, groupBy: a.groupBy, bucket: a.bucket ?? null })) }))
  .get('/analytics/:name', async (c) => {
    const result = await runAnalytic(c.env.DB, c.var.config, c.req.param('name'), { from: c.req.query('from'), to: c.req.query('to') });
    const format = c.req.query('format') ?? 'json';
    if (format === 'csv') return c.body(toCsv(result.columns, result.rows), 200, { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${result.name}.csv"` });
    if (format !== 'json') throw new Problem(400, 'Bad Request', { detail: 'format must be json or csv.', errors: [{ path: 'format', message: 'must be json or csv' }] });
    return c.json(result);
  })
  .get('/rules/runs', async (c) => {
    const rule = c.req.query('rule');
    const { results } = await c.env.DB.prepare(
      `SELECT rule, record_id AS recordId, action, status, attempts, output_id AS outputId, result, created_at AS createdAt, updated_at AS updatedAt FROM rule_runs ${rule ? 'WHERE rule = ?' : ''} ORDER BY created_at DESC, record_id LIMIT 500`,
    )
      .bind(...(rule ? [rule] : []))
      .all();
    return c.json({ runs: results.map((r) => ({ ...r, createdAt: new Date(Number(r.createdAt)).toISOString(), updatedAt: new Date(Number(r.updatedAt)).toISOString() })) });
  })
  .all('/platform/*', relay)
  .notFound(() => problem(new Problem(404, 'Not Found', { detail: 'No such connector route.' })))
  .onError((err, c) => {
    if (err instanceof ConfigError) {
      console.error(JSON.stringify({ level: 'error', msg: err.message }));
      return problem(new Problem(503, 'Service Unavailable', { detail: 'The connector configuration is invalid; see the connector logs.' }));
    }
    if (err instanceof BearerError) {
      const challenge = `Bearer error="${err.error}", error_description="${err.message.replace(/["\\]/g, '')}"`;
      return problem(new Problem(err.status, err.status === 400 ? 'Bad Request' : 'Unauthorized', { detail: err.message, headers: { 'WWW-Authenticate': challenge } }));
    }
    if (err instanceof Problem) return problem(err);
    console.error(JSON.stringify({ level: 'error', msg: 'unhandled error', requestId: c.get('requestId'), error: err instanceof Error ? err.stack : String(err) }));
    return problem(new Problem(500, 'Internal Server Error'));
  });

export default {
  fetch: app.fetch,
  /** The cron trigger wakes the Replicator even when nobody calls the connector. */
  async scheduled(_event, env) {
    await replicator(env).ensureRunning();
  },
} satisfies ExportedHandler<Env>;
