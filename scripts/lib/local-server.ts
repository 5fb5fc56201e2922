import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureDevVars } from './setup.ts';
import { runWrangler, wranglerBin } from './wrangler.ts';

/** A running local Gatehouse (wrangler dev) with its own secrets and state in a temp dir. */
export type LocalServer = {
  url: string;
  dir: string;
  secrets: Record<string, string>;
  stateDir: string;
  /** Everything wrangler and the Worker printed, for diagnosing a failed test. */
  output: () => string;
  stop: () => Promise<void>;
};

/** Asks the OS for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls a URL until it answers 200, or throws after `timeoutMs`. */
export async function waitForOk(url: string, timeoutMs: number, isAlive: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error('the server exited before it became healthy');
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not become healthy within ${timeoutMs} ms (last: ${last})`);
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
    const pid = child.pid;
    const kill = (signal: NodeJS.Signals) => {
      try {
        process.kill(-pid, signal); // the whole group: wrangler and the workerd it started
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    kill('SIGTERM');
  });
}

/**
 * Starts the real Worker under `wrangler dev` on a free 127.0.0.1 port, with fresh secrets and D1 state in a temp dir
 * (migrations applied by wrangler), so a test run never touches the developer's .dev.vars or data.
 * `prepare` runs after migrations and before the server starts, to seed data.
 */
export async function startLocalServer(opts: {
  root: string;
  vars?: Record<string, string>;
  prepare?: (ctx: { configPath: string; devVarsPath: string; stateDir: string; secrets: Record<string, string> }) => Promise<void>;
}): Promise<LocalServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-e2e-'));
  const configPath = path.join(opts.root, 'wrangler.toml');
  const devVarsPath = path.join(dir, '.dev.vars');
  const stateDir = path.join(dir, 'state');
  const { values: secrets } = await ensureDevVars(devVarsPath, path.join(dir, 'root-ca.key'));
  await runWrangler(['d1', 'migrations', 'apply', 'DB', '--local', '-c', configPath, '--persist-to', stateDir], { cwd: opts.root });
  await opts.prepare?.({ configPath, devVarsPath, stateDir, secrets });

  const port = await freePort();
  const inspectorPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const vars = { PUBLIC_URL: url, ISSUER: url, ...opts.vars };
  const args = [
    wranglerBin(), 'dev', '-c', configPath, '--env-file', devVarsPath, '--persist-to', stateDir,
    '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspectorPort),
    '--show-interactive-dev-session=false', '--log-level', 'warn',
    ...Object.entries(vars).flatMap(([k, v]) => ['--var', `${k}:${v}`]),
  ];
  const child = spawn(process.execPath, args, {
    cwd: opts.root,
    detached: true,
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForOk(`${url}/health`, 60_000, () => child.exitCode === null);
  } catch (err) {
    await stop();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- wrangler output ---\n${output}`);
  }
  return { url, dir, secrets, stateDir, output: () => output, stop };
}
