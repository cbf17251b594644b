import type { Config } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** What every part of the service may use, built once in service.ts. */
export interface AppContext {
  config: Config;
  version: string;
  log: Logger;
  metrics: Metrics;
}
