import { ConfigError } from '../config/env.js';
import { configFromEnv } from '../config/config.js';
import { FeedService } from '../roles/service.js';

/** Seconds allowed for a graceful stop before the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 10_000;

async function main(): Promise<void> {
  let service: FeedService;
  try {
    service = FeedService.create(configFromEnv(process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const { log } = service.ctx;

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const deadline = setTimeout(() => {
      log.error('graceful stop took too long, exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    service.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  await service.start();
}

main().catch((err: unknown) => {
  console.error('fatal:', err);
  process.exit(1);
});
