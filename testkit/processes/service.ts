import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Config, configFromEnv } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { FeedService } from '../../src/roles/service.js';

/** A configuration for tests: its own data folder, a free port, quick timings. */
export function testConfig(env: Record<string, string> = {}): Config {
  const dataDir = env.DATA_DIR ?? mkdtempSync(path.join(tmpdir(), 'feedgen-svc-'));
  return configFromEnv({
    PORT: '0',
    DATA_DIR: dataDir,
    JETSTREAM_RECONNECT_MIN_MS: '50',
    JETSTREAM_RECONNECT_MAX_MS: '500',
    INGEST_BATCH_WAIT_MS: '20',
    LOG_LEVEL: 'silent',
    ...env,
  });
}

/** Starts a service on 127.0.0.1; `stop` also removes its data folder unless kept. */
export async function startTestService(config: Config, options: { keepData?: boolean } = {}) {
  const service = FeedService.create(config, { host: '127.0.0.1', log: createLogger(config.logLevel) });
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

/** Polls until `check` returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** One sample of a Prometheus counter or gauge, by name and labels (0 when absent). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[4]);
  }
  return 0;
}
