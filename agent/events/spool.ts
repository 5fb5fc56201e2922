/**
 * The agent's event spool: `<state dir>/spool/`, one JSON file per event not yet acknowledged by Gatehouse, named so
 * that a directory listing is the order the events were made in. Events are written here BEFORE they are sent, so a
 * crash or an outage loses nothing; they leave only when the server answers `stored` or `duplicate` (or, for
 * `rejected`, move to `spool/rejected/` for a human to look at). The plaintext stays on the device, in a 0700
 * directory of 0600 files beside the device key; it is encrypted at send time, with the key the config names then.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { recordId, recordTime, recordType } from '../../lib/records/event.ts';
import { AgentError, EXIT } from '../errors.ts';

/** Most events the spool holds; beyond it new events are refused rather than dropping old ones. */
export const MAX_SPOOLED_EVENTS = 10_000;

/** One spooled event: its metadata and the plaintext data (any JSON value). */
export const spooledEvent = z.object({ id: recordId, type: recordType, time: recordTime, data: z.json() });

/** A spooled event. */
export type SpooledEvent = z.output<typeof spooledEvent>;

/** A spooled event and the file that holds it. */
export type SpoolEntry = { file: string; event: SpooledEvent };

const dirOf = (stateDir: string) => path.join(stateDir, 'spool');
let counter = 0;

function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

const files = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : []);

/** Adds an event to the spool (atomically: temp file, then rename); refuses when the spool is full. */
export function spoolEvent(stateDir: string, event: SpooledEvent): string {
  const dir = dirOf(stateDir);
  try {
    ensureDir(dir);
    if (files(dir).length >= MAX_SPOOLED_EVENTS) throw new AgentError(EXIT.STATE, `the spool in ${dir} holds ${MAX_SPOOLED_EVENTS} events already: reconnect to flush it first`);
    const name = `${String(Date.now()).padStart(15, '0')}-${String(counter++).padStart(6, '0')}-${process.pid}.json`;
    const tmp = path.join(dir, `.${name}.tmp`);
    writeFileSync(tmp, JSON.stringify(event), { mode: 0o600 });
    renameSync(tmp, path.join(dir, name));
    return name;
  } catch (e) {
    if (e instanceof AgentError) throw e;
    throw new AgentError(EXIT.STATE, `cannot write the spool in ${dir}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Every spooled event, oldest first; unreadable files are set aside in `spool/rejected/` instead of blocking the rest. */
export function readSpool(stateDir: string): SpoolEntry[] {
  const dir = dirOf(stateDir);
  const entries: SpoolEntry[] = [];
  for (const file of files(dir)) {
    let parsed: ReturnType<typeof spooledEvent.safeParse>;
    try {
      parsed = spooledEvent.safeParse(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
    } catch {
      parsed = spooledEvent.safeParse(undefined);
    }
    if (parsed.success) entries.push({ file, event: parsed.data });
    else setAside(stateDir, file, 'unreadable spool file');
  }
  return entries;
}

/** Removes an event the server acknowledged. */
export const acknowledge = (stateDir: string, file: string): void => rmSync(path.join(dirOf(stateDir), file), { force: true });

/** Moves an event the server rejected to `spool/rejected/`, with the reason beside it. */
export function setAside(stateDir: string, file: string, reason: string): void {
  const rejected = path.join(dirOf(stateDir), 'rejected');
  ensureDir(rejected);
  renameSync(path.join(dirOf(stateDir), file), path.join(rejected, file));
  writeFileSync(path.join(rejected, `${file}.reason`), `${reason}\n`, { mode: 0o600 });
}
