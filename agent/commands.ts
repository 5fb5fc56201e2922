import type { Command } from './command.ts';
import { enroll } from './enroll.ts';
import { renew } from './renew.ts';
import { sendEvent } from './send-event.ts';
import { status } from './status.ts';

/** Every `gatehouse-agent` subcommand. A new one (e.g. `connect`) is a module exporting a `Command`, added here. */
export const COMMANDS: readonly Command[] = [enroll, renew, status, sendEvent];
