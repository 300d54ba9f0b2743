import type { Store, Db } from '../store/db.js';
import type { Logger } from '../observe/logger.js';
import type { ServerConfig } from './config.js';
import type { ServerMetrics } from './metrics.js';
import type { Wakeups } from './wakeups.js';

/** What services and loops share; built once by the composition root. */
export interface ControlContext {
  store: Store;
  db: Db;
  config: ServerConfig;
  logger: Logger;
  metrics: ServerMetrics;
  wakeups: Wakeups;
  now(): Date;
}
