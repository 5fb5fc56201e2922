/**
 * `gatehouse-agent connect …` for the benchmark: runs the agent's `connect` command module (agent/connect.ts, the code
 * the CLI dispatches to) in a process of its own, with the same arguments. It exists because the CLI's command list
 * (agent/commands.ts) does not register `connect` on this branch yet.
 */
import { connect } from '../../agent/connect.ts';
import { AgentError } from '../../agent/errors.ts';

try {
  process.exitCode = await connect.run(process.argv.slice(2));
} catch (e) {
  console.error(`gatehouse-agent connect: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = e instanceof AgentError ? e.code : 1;
}
