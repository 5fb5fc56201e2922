/**
 * The agent's real entry point (agent/cli.ts) with `send-event` registered, for the e2e tests to run until
 * agent/commands.ts lists it; once it does, records-harness.ts runs agent/cli.ts itself and this file is unused.
 */
import { COMMANDS } from '../../agent/commands.ts';
import type { Command } from '../../agent/command.ts';
import { sendEvent } from '../../agent/send-event.ts';

if (!COMMANDS.some((c) => c.name === sendEvent.name)) (COMMANDS as Command[]).push(sendEvent);
await import('../../agent/cli.ts');
