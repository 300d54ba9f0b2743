import type { Store, Db } from '../store/db.js';
import type { Logger } from '../observe/logger.js';
import type { ServerConfig } from './config.js';
import type { ServerMetrics } from './metrics.js';
import type { Wakeups } from './wakeups.js';
import type { SchedulerSettings } from '../scheduler/settings.js';

/** What services and loops share; built once by the composition root. */
export interface ControlContext {
  store: Store;
  db: Db;
  config: ServerConfig;
  logger: Logger;
  metrics: ServerMetrics;
  wakeups: Wakeups;
  /** The scheduler's policy settings and the fair-share half-life, read once at start. */
  scheduling: SchedulerSettings;
  now(): Date;
}
