/** The agent's version, reported in `hello` and in the first log line: the `version` of the package it ships in. */
import { readFileSync } from 'node:fs';

function packageVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const version = typeof pkg === 'object' && pkg !== null && 'version' in pkg ? pkg.version : undefined;
    // hello.agentVersion is 1–64 characters.
    return typeof version === 'string' && version.length > 0 && version.length <= 64 ? version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The version in package.json ("0.0.0" if it cannot be read). */
export const AGENT_VERSION: string = packageVersion();
