import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../observe/logger.js';
import { parseSimModelConfig, type SimModelConfigInput } from './config.js';

export { loadSimModelConfig, SimModelConfigError } from './config.js';
import { Engine } from './engine.js';
import { EngineLoop } from './engine-loop.js';
import { FaultInjector } from './faults.js';
import { SimModelHandler } from './http-server.js';
import { createSimModelMetrics } from './metrics.js';

export interface SimModelOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  config?: SimModelConfigInput;
  logLevel?: string;
  logger?: Logger;
  /** After an injected crash has dropped every connection; the CLI exits the process here. */
  onCrash?: () => void;
}

export interface SimModel {
  url: string;
  /** Stops taking requests, lets every in-flight one finish, then closes. */
  close(): Promise<void>;
}

/** Starts the model-server simulator: an OpenAI-compatible HTTP server backed by the simulated engine. */
export async function startSimModel(options: SimModelOptions = {}): Promise<SimModel> {
  const config = parseSimModelConfig(options.config ?? {});
  const logger = options.logger ?? createLogger({ name: 'sim-model', level: options.logLevel });
  const clock = { now: () => performance.now() };
  const metrics = createSimModelMetrics(config.model);
  const engine = new Engine(config, clock, metrics.observer);
  metrics.watch(engine);
  const loop = new EngineLoop(engine, config.stepIntervalMs);
  const faults = new FaultInjector(config.faults, config.seed, clock.now());

  let server: Server | undefined;
  let crashTimer: NodeJS.Timeout | undefined;
  const crash = (): void => {
    if (!server?.listening) return;
    logger.warn('injected crash: dropping every connection');
    clearTimeout(crashTimer);
    loop.stop();
    server.close();
    server.closeAllConnections();
    options.onCrash?.();
  };
  const handler = new SimModelHandler({ config, engine, loop, metrics, faults, now: clock.now, crash });
  server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    // The trace context a gateway passed on, so a request can be followed into the model server.
    if (req.method === 'POST') logger.debug({ path: req.url, traceparent: req.headers.traceparent }, 'request');
    handler.handle(req, res);
  });
  const listening = server;
  await new Promise<void>((resolve, reject) => {
    listening.once('error', reject);
    listening.listen(options.port ?? 8000, options.host ?? '127.0.0.1', () => resolve());
  });
  if (config.faults.crashAfterMs !== undefined) crashTimer = setTimeout(crash, config.faults.crashAfterMs);

  const address = listening.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  logger.info({ url, model: config.model }, 'sim-model listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= (async () => {
        clearTimeout(crashTimer);
        if (listening.listening) {
          const closed = new Promise<void>((resolve) => listening.close(() => resolve()));
          listening.closeIdleConnections();
          await handler.drain();
          listening.closeAllConnections();
          await closed;
        }
        loop.stop();
        logger.info('sim-model stopped');
      })();
      return closing;
    },
  };
}
