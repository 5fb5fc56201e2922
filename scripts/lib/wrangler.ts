import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The path of wrangler's CLI script, run with this same (pinned) Node. */
export const wranglerBin = (): string => path.join(path.dirname(require.resolve('wrangler/package.json')), 'bin/wrangler.js');

/** Runs a wrangler command to completion; rejects with its output when it fails. */
export function runWrangler(args: string[], opts: { cwd?: string; quiet?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wranglerBin(), ...args], {
      cwd: opts.cwd,
      env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`wrangler ${args.slice(0, 3).join(' ')} failed (exit ${code}):\n${output.trim()}`));
    });
  });
}
