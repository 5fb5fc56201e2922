/**
 * What the tunnel leaves in the agent's state directory for people and other commands: `claim_code` (the code to
 * type into the app, like the reference device's /var/persist/claim_code) and `device_token` (the Device Gateway
 * token, for the event sender). Both are secrets in their way, so they are written atomically with mode 0600.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** File names inside the state directory. */
export const TUNNEL_FILES = { claimCode: 'claim_code', deviceToken: 'device_token' } as const;

function writePrivate(file: string, data: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** Stores the claim code: the code on the first line, then its expiry as an ISO date, so both `cat` and a UI can read it. */
export function writeClaimCode(dir: string, code: string, expiresAt: number): void {
  writePrivate(path.join(dir, TUNNEL_FILES.claimCode), `${code}\n${new Date(expiresAt * 1000).toISOString()}\n`);
}

/** Reads the stored claim code, or undefined when there is none (or it is unreadable). */
export function readClaimCode(dir: string): { code: string; expiresAt: Date } | undefined {
  try {
    const [code, expires] = readFileSync(path.join(dir, TUNNEL_FILES.claimCode), 'utf8').split('\n');
    return code && expires ? { code, expiresAt: new Date(expires) } : undefined;
  } catch {
    return undefined;
  }
}

/** Deletes the claim code once the device is claimed. */
export function removeClaimCode(dir: string): void {
  rmSync(path.join(dir, TUNNEL_FILES.claimCode), { force: true });
}

const storedTokenSchema = z.object({ token: z.string().min(1), expiresAt: z.number().int().nonnegative() });

/** A device token as stored: the JWT and its expiry in Unix seconds. */
export type StoredDeviceToken = z.infer<typeof storedTokenSchema>;

/** Stores the latest device token as JSON `{token, expiresAt}`. */
export function writeDeviceToken(dir: string, token: StoredDeviceToken): void {
  writePrivate(path.join(dir, TUNNEL_FILES.deviceToken), `${JSON.stringify(token)}\n`);
}

/** Reads the stored device token if it is there and unexpired at `now` (ms); for commands that call the Device Gateway. */
export function readDeviceToken(dir: string, now: number = Date.now()): StoredDeviceToken | undefined {
  try {
    const parsed = storedTokenSchema.safeParse(JSON.parse(readFileSync(path.join(dir, TUNNEL_FILES.deviceToken), 'utf8')));
    return parsed.success && parsed.data.expiresAt * 1000 > now ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
