import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { databaseIdOf } from '../../scripts/lib/local-d1.ts';
import { freePort, waitForOk } from '../../scripts/lib/local-server.ts';
import { runWrangler } from '../../scripts/lib/wrangler.ts';

/** A Worker bundle served by the `workerd` binary itself, from a generated config (no wrangler or Miniflare in the path). */
export type BundleServer = { url: string; stop: () => Promise<void>; /** The workerd process, for memory sampling. */ pid: number };

/** Builds the production bundle exactly as `wrangler deploy` would upload it, and returns the entry module's path. */
export async function buildProductionBundle(root: string): Promise<{ dir: string; entry: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bundle-'));
  await runWrangler(['deploy', '--dry-run', '--outdir', dir, '-c', path.join(root, 'wrangler.toml')], { cwd: root });
  return { dir, entry: path.join(dir, 'index.js') };
}

/** Bundles a small benchmark Worker (for baselines) with esbuild, as wrangler would. */
export async function bundleWorker(entryTs: string): Promise<string> {
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-')), 'worker.js');
  await build({ entryPoints: [entryTs], bundle: true, format: 'esm', platform: 'neutral', target: 'es2023', outfile: out, minify: true, logLevel: 'error', conditions: ['workerd', 'worker', 'browser'] });
  return out;
}

/** Writes a one-file Worker to a temp dir and returns its path (for tiny inline baselines). */
export function inlineWorker(source: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-inline-')), 'worker.js');
  writeFileSync(file, source);
  return file;
}

/** Removes a temp dir made by the helpers above. */
export const removeDir = (dir: string) => rmSync(dir, { recursive: true, force: true });

const q = (s: string) => JSON.stringify(s);

/** The workerd binary that wrangler itself runs (the `workerd` package exports its path). */
const workerdBinary = (): string => (createRequire(import.meta.url)('workerd') as { default: string }).default;

/** The Durable Object classes the Gatehouse bundle exports. */
export const GATEHOUSE_DURABLE_OBJECTS = ['DeviceTunnel', 'RateLimiter'];

/** Serves a bundle on bare workerd; `withPlatform` adds Gatehouse's D1 and Durable Objects (see serveOnWorkerd). */
export const serveBundle = (opts: { script: string; bindings?: Record<string, string>; withPlatform?: { configPath: string; stateDir: string } }) =>
  serveOnWorkerd({
    script: opts.script,
    bindings: opts.bindings,
    platform: opts.withPlatform && { ...opts.withPlatform, durableObjects: GATEHOUSE_DURABLE_OBJECTS },
  });

/**
 * Serves a bundled module on bare workerd at a free 127.0.0.1 port. Text bindings come from the process environment
 * (`fromEnvironment`), so secrets never land in the config file. With `platform`, the Worker also gets Gatehouse's D1
 * (bench/lib/d1-shim.js over the SQLite file wrangler's local state holds) and its Durable Object classes.
 */
export async function serveOnWorkerd(opts: {
  script: string;
  bindings?: Record<string, string>;
  platform?: { configPath: string; stateDir: string; durableObjects: string[] };
  /** A port chosen beforehand (when a binding such as PUBLIC_URL must name it); a free one otherwise. */
  port?: number;
}): Promise<BundleServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-workerd-'));
  // capnp embeds are read relative to the config file, so the modules are copied beside it.
  copyFileSync(opts.script, path.join(dir, 'index.js'));
  copyFileSync(path.join(import.meta.dirname, 'd1-shim.js'), path.join(dir, 'd1-shim.js'));
  const port = opts.port ?? (await freePort());
  const bindings = Object.keys(opts.bindings ?? {}).map((name) => `(name = ${q(name)}, fromEnvironment = ${q(`GH_${name}`)})`);
  // The Worker may call servers on this machine (an upstream for the gateway benchmark), as under wrangler dev.
  const services = [`(name = "main", worker = .main)`, `(name = "internet", network = (allow = ["local", "private", "public"]))`];
  const extra: string[] = [];
  let namespaces = '';
  if (opts.platform) {
    const doDisk = path.join(dir, 'objects');
    mkdirSync(doDisk);
    bindings.push(`(name = "DB", wrapped = (moduleName = "cloudflare-internal:d1-api", innerBindings = [(name = "fetcher", service = "d1")]))`);
    for (const cls of opts.platform.durableObjects) {
      const binding = cls.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
      bindings.push(`(name = ${q(binding)}, durableObjectNamespace = ${q(cls)})`);
    }
    namespaces = `durableObjectNamespaces = [${opts.platform.durableObjects.map((c) => `(className = ${q(c)}, uniqueKey = ${q(`bench-${c}`)}, enableSql = true)`).join(', ')}],
  durableObjectStorage = (localDisk = "objects"),`;
    services.push(`(name = "objects", disk = (path = ${q(doDisk)}, writable = true))`);
    services.push(`(name = "d1", worker = .d1)`, `(name = "d1-disk", disk = (path = ${q(path.join(opts.platform.stateDir, 'v3', 'd1'))}, writable = true))`);
    extra.push(`const d1 :Workerd.Worker = (
  modules = [(name = "d1-shim.js", esModule = embed "d1-shim.js")],
  compatibilityDate = "2026-11-01",
  bindings = [(name = "DB_OBJECT", durableObjectNamespace = "D1Database"), (name = "DATABASE_ID", text = ${q(databaseIdOf(opts.platform.configPath))})],
  durableObjectNamespaces = [(className = "D1Database", uniqueKey = "miniflare-D1DatabaseObject", enableSql = true)],
  durableObjectStorage = (localDisk = "d1-disk"),
);`);
  }
  const config = `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [${services.join(', ')}],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const main :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed "index.js")],
  compatibilityDate = "2026-11-01",
  globalOutbound = "internet",
  bindings = [${bindings.join(', ')}],
  ${namespaces}
);
${extra.join('\n')}
`;
  const configPath = path.join(dir, 'config.capnp');
  writeFileSync(configPath, config);
  const env = { ...process.env, ...Object.fromEntries(Object.entries(opts.bindings ?? {}).map(([k, v]) => [`GH_${k}`, v])) };
  const args = ['serve', configPath, '--experimental', ...(process.env.BENCH_WORKERD_INSPECT ? [`--inspector-addr=127.0.0.1:${process.env.BENCH_WORKERD_INSPECT}`] : [])];
  // workerd holds up to five descriptors per connected device (the socket twice, and an awake object's SQLite database,
  // WAL and shared memory), so a limit of 20,000 runs out near 6,000 devices (SQLITE_CANTOPEN, then workerd dies). The
  // shell raises the soft limit to the hard one (and the hard one to 262,144 where that is permitted), then becomes
  // workerd, keeping its pid.
  const child = spawn('/bin/sh', ['-c', 'ulimit -Hn 262144 2>/dev/null; ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"', workerdBinary(), ...args], { env, stdio: ['ignore', 'ignore', 'pipe'], detached: false });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    // BENCH_WORKERD_LOG=1 shows what the Worker logs (uncaught errors included) while a benchmark runs.
    if (process.env.BENCH_WORKERD_LOG === '1') process.stderr.write(d);
    if (stderr.length < 20_000) stderr += d.toString();
  });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      // A workerd holding thousands of objects may not finish shutting down on its own: it gets 5 s, then SIGKILL.
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    removeDir(dir);
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForOk(opts.platform ? `${url}/health` : url, 20_000, () => child.exitCode === null);
  } catch (err) {
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${stderr}`);
  }
  return { url, stop, pid: child.pid! };
}
