import { Command } from 'commander';
import type { CliContext } from './context.js';
import { packageVersion } from './package-info.js';
import { registerAgent } from './commands/agent.js';
import { registerApply } from './commands/apply.js';
import { registerCancel } from './commands/cancel.js';
import { registerDelete } from './commands/delete.js';
import { registerExplain } from './commands/explain.js';
import { registerGateway } from './commands/gateway.js';
import { registerGet } from './commands/get.js';
import { registerLogin } from './commands/login.js';
import { registerLogs } from './commands/logs.js';
import { registerNodes } from './commands/nodes.js';
import { registerCost } from './commands/cost.js';
import { registerTop } from './commands/top.js';
import { registerEvents } from './commands/events.js';
import { registerPs } from './commands/ps.js';
import { registerRollout } from './commands/rollout.js';
import { registerRun } from './commands/run.js';
import { registerServer } from './commands/server.js';
import { registerSimModel } from './commands/sim-model.js';
import { registerSimulate } from './commands/simulate.js';
import { registerTokens } from './commands/tokens.js';
import { registerUp } from './commands/up.js';
import { registerWhoami } from './commands/whoami.js';

/**
 * The whole command tree. Settings made here before the commands are added (exit override,
 * output) are inherited by every subcommand, so usage errors reach main as CommanderErrors.
 */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('gpufleet')
    .description('gpufleet: one pool of GPUs for many teams, with quotas, real processes and measurements')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .helpCommand('help [command]', 'show help for a command')
    // `run` passes every flag after the program's name to the program, which needs positional options.
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => ctx.stdout.write(s), writeErr: (s) => ctx.stderr.write(s) });

  registerUp(program, ctx);
  registerRun(program, ctx);
  registerPs(program, ctx);
  registerLogs(program, ctx);
  registerExplain(program, ctx);
  registerCancel(program, ctx);
  registerNodes(program, ctx);
  registerTop(program, ctx);
  registerCost(program, ctx);
  registerEvents(program, ctx);
  registerApply(program, ctx);
  registerGet(program, ctx);
  registerDelete(program, ctx);
  registerLogin(program, ctx);
  registerWhoami(program, ctx);
  registerTokens(program, ctx);
  registerServer(program, ctx);
  registerAgent(program, ctx);
  registerSimModel(program, ctx);
  registerSimulate(program, ctx);
  registerGateway(program, ctx);
  registerRollout(program, ctx);
  return program;
}
