import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

/** Reads a dotenv file (`.dev.vars`) into a map; a missing file is empty. */
export function readDotenv(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  return parseEnv(readFileSync(path, 'utf8')) as Record<string, string>;
}

/** Quotes a value so that wrangler's and Node's dotenv parsers read it back exactly. */
function quote(value: string): string {
  if (value.includes('\n')) {
    if (value.includes('"')) throw new Error('a multi-line value cannot contain a double quote');
    return `"${value.replace(/\r?\n/g, '\\n')}"`;
  }
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw new Error('a value cannot contain both quote characters');
}

/** Writes a dotenv file readable only by its owner (mode 0600), since it holds secrets. */
export function writeDotenv(path: string, values: Record<string, string>, header: string): void {
  const lines = [`# ${header}`, ...Object.entries(values).map(([k, v]) => `${k}=${quote(v)}`), ''];
  writeFileSync(path, lines.join('\n'), { mode: 0o600 });
  chmodSync(path, 0o600);
}
