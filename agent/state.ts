/**
 * The agent's state directory: the device key (PKCS#8 PEM, mode 0600), its certificate, the CA chain, and a small
 * `device.json`. Files are replaced atomically (write a temp file, then rename), so a crash never leaves half a key.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { AgentError, EXIT } from './errors.ts';

/** File names inside the state directory. */
export const FILES = { key: 'device.key', cert: 'device.crt', chain: 'ca-chain.pem', meta: 'device.json' } as const;

/** What `device.json` holds. */
export type DeviceMeta = { deviceId: string; url: string; serial: string | null; enrolledAt: string; renewedAt?: string };

/** Everything the agent keeps. */
export type AgentState = DeviceMeta & { keyPem: string; certPem: string; chainPem: string };

/** The state directory: `--state-dir`, else $GATEHOUSE_AGENT_STATE_DIR, else ~/.gatehouse-agent. */
export const resolveStateDir = (flag: string | undefined): string =>
  path.resolve(flag || process.env.GATEHOUSE_AGENT_STATE_DIR || path.join(homedir(), '.gatehouse-agent'));

/** True when the directory already holds an enrolment. */
export const isEnrolled = (dir: string): boolean => existsSync(path.join(dir, FILES.meta));

function writeAtomic(file: string, data: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  // writeFileSync's mode applies only when it creates the file; chmod makes it hold for a leftover temp file too.
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}

/** Writes the whole state; the key first (0600) and `device.json` last, so a state with metadata is complete. */
export function saveState(dir: string, state: AgentState): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeAtomic(path.join(dir, FILES.key), state.keyPem, 0o600);
    writeAtomic(path.join(dir, FILES.cert), state.certPem, 0o644);
    writeAtomic(path.join(dir, FILES.chain), state.chainPem, 0o644);
    const meta: DeviceMeta = { deviceId: state.deviceId, url: state.url, serial: state.serial, enrolledAt: state.enrolledAt, renewedAt: state.renewedAt };
    writeAtomic(path.join(dir, FILES.meta), `${JSON.stringify(meta, null, 2)}\n`, 0o644);
  } catch (e) {
    throw new AgentError(EXIT.STATE, `cannot write the state directory ${dir}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Reads the state, or explains in one line why it cannot (not enrolled, unreadable, incomplete). */
export function loadState(dir: string): AgentState {
  if (!isEnrolled(dir)) throw new AgentError(EXIT.STATE, `no enrolment in ${dir}: run "gatehouse-agent enroll" first`);
  try {
    const meta = JSON.parse(readFileSync(path.join(dir, FILES.meta), 'utf8')) as DeviceMeta;
    if (typeof meta.deviceId !== 'string' || typeof meta.url !== 'string') throw new Error(`${FILES.meta} is incomplete`);
    return {
      ...meta,
      keyPem: readFileSync(path.join(dir, FILES.key), 'utf8'),
      certPem: readFileSync(path.join(dir, FILES.cert), 'utf8'),
      chainPem: readFileSync(path.join(dir, FILES.chain), 'utf8'),
    };
  } catch (e) {
    throw new AgentError(EXIT.STATE, `cannot read the state in ${dir}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** PEM of certificates, concatenated (each block ends with a newline). */
export const pemOf = (certs: readonly x509.X509Certificate[]): string => certs.map((c) => `${c.toString('pem').trim()}\n`).join('');
