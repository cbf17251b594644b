import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Config, configFromEnv } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { FeedService, type ServiceOverrides } from '../../src/roles/service.js';

// Re-exported here: the tests import them together with the service helpers.
export { metricValue } from '../metrics/prometheus.js';
export { waitFor } from '../polling/wait-for.js';

/** A configuration for tests: its own data folder, a free port, quick timings. */
export function testConfig(env: Record<string, string> = {}): Config {
  const dataDir = env.DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'feedgen-svc-'));
  return configFromEnv({
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    JETSTREAM_RECONNECT_MIN_MS: '50',
    JETSTREAM_RECONNECT_MAX_MS: '500',
    INGEST_BATCH_WAIT_MS: '20',
    LOG_LEVEL: 'silent',
    // Follows off unless a test points them at the stand-in AppView: no test reaches the public one.
    FOLLOWS_APPVIEW_URL: 'off',
    ...env,
  });
}

/** Starts a service (on 127.0.0.1 with testConfig); `stop` also removes its data folder unless kept. */
export async function startTestService(config: Config, options: { keepData?: boolean; overrides?: ServiceOverrides } = {}) {
  const service = FeedService.create(config, { log: createLogger(config.logLevel), ...options.overrides });
  await service.start();
  return {
    service,
    baseUrl: `http://127.0.0.1:${service.port()}`,
    stop: async () => {
      await service.stop();
      if (!options.keepData) rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}
