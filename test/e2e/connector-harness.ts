/**
 * Runs the connector as a second real local Worker (`wrangler dev -c workers/connector/wrangler.toml`) beside the
 * platform, with its own D1 state directory that survives restarts (so a kill -9 and a restart resume from the stored
 * cursor), and helpers to read everything it replicated.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort, waitForOk } from '../../scripts/lib/local-server.ts';
import { runWrangler, wranglerBin } from '../../scripts/lib/wrangler.ts';
import { ROOT } from './fixtures.ts';

const CONFIG = path.join(ROOT, 'workers/connector/wrangler.toml');

/** A running connector. */
export type RunningConnector = { url: string; output: () => string; kill: (signal?: NodeJS.Signals) => Promise<void> };

/** Applies the connector's migrations to a local state directory. */
export async function migrateConnector(stateDir: string): Promise<void> {
  await runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '-c', CONFIG, '--persist-to', stateDir], { cwd: ROOT });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
    const pid = child.pid;
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    try {
      process.kill(-pid, signal); // wrangler and its workerd
    } catch {
      resolve();
    }
  });
}

/** Starts the connector on a free port with the given .dev.vars and vars; resolves once /health answers. */
export async function startConnector(opts: { devVars: string; stateDir: string; vars?: Record<string, string>; port?: number }): Promise<RunningConnector> {
  const port = opts.port ?? (await freePort());
  const inspectorPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    wranglerBin(), 'dev', '-c', CONFIG, '--env-file', opts.devVars, '--persist-to', opts.stateDir,
    '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
    '--show-interactive-dev-session=false', '--log-level', 'warn',
    ...Object.entries(opts.vars ?? {}).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, detached: true, env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => killGroup(child, signal);
  try {
    await waitForOk(`${url}/health`, 60_000, () => child.exitCode === null);
  } catch (err) {
    await kill('SIGKILL');
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- connector output ---\n${output}`);
  }
  return { url, output: () => output, kill };
}

/** A JSON call to the connector. */
export async function connectorCall<T = Record<string, unknown>>(url: string, token: string | undefined, p: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${url}${p}`, { method: init.method ?? 'GET', headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

/** Every record id the connector holds, through its own search API (time order, paged with its cursor). */
export async function connectorIds(url: string, token: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor = '';
  for (let i = 0; i < 1000; i++) {
    const page = await connectorCall<{ results: { id: string }[]; next: string | null }>(url, token, `/search?order=time:asc&limit=200${cursor ? `&cursor=${cursor}` : ''}`);
    if (page.status !== 200) throw new Error(`search failed: ${page.status} ${JSON.stringify(page.body)}`);
    ids.push(...page.body.results.map((r) => r.id));
    if (!page.body.next) break;
    cursor = page.body.next;
  }
  return ids;
}

/** Polls until `check` is true (or fails with `what` and the last value seen). */
export async function eventually<T>(what: string, read: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms; last: ${JSON.stringify(last).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 250));
    last = await read();
  }
  return last;
}
