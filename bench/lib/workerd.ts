import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { runWrangler } from '../../scripts/lib/wrangler.ts';
import { freePort } from '../../scripts/lib/local-server.ts';
import { databaseIdOf } from '../../scripts/lib/local-d1.ts';

/** A Worker bundle served by workerd (through Miniflare's thin entry, without wrangler dev's proxy layers). */
export type BundleServer = { url: string; stop: () => Promise<void> };

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

/**
 * Serves a bundled module on workerd at a free 127.0.0.1 port. `withPlatform` adds Gatehouse's D1 (persisted under
 * `stateDir`, the same layout wrangler uses) and its Durable Object, plus vars and secrets as bindings.
 */
export async function serveBundle(opts: {
  script: string;
  bindings?: Record<string, string>;
  withPlatform?: { configPath: string; stateDir: string };
}): Promise<BundleServer> {
  const port = await freePort();
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: '127.0.0.1',
      port,
      modules: [{ type: 'ESModule', path: opts.script }],
      modulesRoot: path.dirname(opts.script),
      compatibilityDate: '2026-11-01',
      bindings: opts.bindings ?? {},
      // Drain the Worker's request logs: the benchmark measures them being written, not a terminal showing them.
      handleRuntimeStdio: (stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) => {
        stdout.resume();
        stderr.resume();
      },
      ...(opts.withPlatform
        ? {
            d1Databases: { DB: databaseIdOf(opts.withPlatform.configPath) },
            durableObjects: { DEVICE_TUNNEL: 'DeviceTunnel' },
            resourcePersistencePath: path.join(opts.withPlatform.stateDir, 'v3'),
          }
        : {}),
    }),
  );
  await mf.ready;
  return { url: `http://127.0.0.1:${port}`, stop: () => mf.dispose() };
}

/** Writes a one-file Worker to a temp dir and returns its path (for tiny inline baselines). */
export function inlineWorker(source: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'gatehouse-inline-')), 'worker.js');
  writeFileSync(file, source);
  return file;
}

/** Removes a temp dir made by the helpers above. */
export const removeDir = (dir: string) => rmSync(dir, { recursive: true, force: true });
