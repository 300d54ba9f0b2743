import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { logLevelOption } from '../log-level.js';
import { port, wholeNumber } from '../parsers.js';
import { shutdownOnSignals } from '../shutdown.js';

interface SimModelCommandOptions {
  host: string;
  port?: number;
  model?: string;
  config?: string;
  logLevel: string;
  seed?: number;
  maxNumSeqs?: number;
  kvCacheBlocks?: number;
  ttftOverheadMs?: number;
  prefillMsPerToken?: number;
  decodeMsPerToken?: number;
  errorRate?: number;
  errorStatus?: number;
  startupDelayMs?: number;
  crashAfterRequests?: number;
  crashAfterMs?: number;
}

function decimal(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError('must be a number, e.g. 0.5');
  return Number(value);
}

export function registerSimModel(program: Command, ctx: CliContext): void {
  program
    .command('sim-model')
    .description('run a simulated OpenAI-compatible model server (vLLM-style metrics, no GPU) for tests and benchmarks')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (default: $PORT, which a service replica is given, else 8000)', port)
    .option('--model <name>', 'model name served (default: gpufleet-sim-8b)')
    .option('--config <file.yaml>', 'parameters file (see docs/sim-model.md); flags win over it')
    .option('--seed <n>', 'seed for generated text, embeddings and faults', wholeNumber)
    .option('--max-num-seqs <n>', 'largest running batch', wholeNumber)
    .option('--kv-cache-blocks <n>', 'KV cache size in blocks', wholeNumber)
    .option('--ttft-overhead-ms <ms>', 'fixed time before the first token', decimal)
    .option('--prefill-ms-per-token <ms>', 'prefill time per uncached prompt token', decimal)
    .option('--decode-ms-per-token <ms>', 'time per output token at a batch of one', decimal)
    .option('--error-rate <fraction>', 'share of inference requests that fail', decimal)
    .option('--error-status <status>', 'HTTP status of injected failures', wholeNumber)
    .option('--startup-delay-ms <ms>', 'answer 503 for this long after start', wholeNumber)
    .option('--crash-after-requests <n>', 'drop every connection and exit at the request after this many', wholeNumber)
    .option('--crash-after-ms <ms>', 'drop every connection and exit this long after start', wholeNumber)
    .addOption(logLevelOption())
    .action(async (o: SimModelCommandOptions) => {
      const { loadSimModelConfig, startSimModel } = await import('../../sim-model/main.js');
      const config = await loadSimModelConfig(o.config, {
        model: o.model,
        seed: o.seed,
        maxNumSeqs: o.maxNumSeqs,
        kvCacheBlocks: o.kvCacheBlocks,
        ttftOverheadMs: o.ttftOverheadMs,
        prefillMsPerToken: o.prefillMsPerToken,
        decodeMsPerToken: o.decodeMsPerToken,
        faults: {
          errorRate: o.errorRate,
          errorStatus: o.errorStatus,
          startupDelayMs: o.startupDelayMs,
          crashAfterRequests: o.crashAfterRequests,
          crashAfterMs: o.crashAfterMs,
        },
      }).catch((err: unknown) => {
        // A bad file or value is the user's to fix: say what, without a stack trace.
        throw new CliError((err as Error).message);
      });
      const sim = await startSimModel({
        host: o.host,
        port: o.port ?? (ctx.env.PORT ? port(ctx.env.PORT) : 8000),
        config,
        logLevel: o.logLevel,
        onCrash: () => {
          ctx.stderr.write('sim-model: injected crash\n');
          process.exit(70);
        },
      });
      shutdownOnSignals(() => sim.close(), ctx.stderr);
      ctx.stdout.write(`gpufleet sim-model serving ${config.model} on ${sim.url} (OpenAI API under /v1, metrics at /metrics)\n`);
    });
}
