/**
 * Entry point of `npm start` and of the Docker image. On the primary it restores the
 * database if missing, then runs `litestream replicate` and the service side by side, so
 * that either can be restarted alone (see primary-runner.ts). A replica never replicates
 * (two replicators on one bucket path corrupt the backups): it runs the service alone.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Config, configFromEnv } from '../config/config.js';
import { ConfigError } from '../config/env.js';
import { runPrimary } from '../replication/litestream/primary-runner.js';
import { createLogger } from '../observability/logger.js';

async function main(): Promise<number> {
  let config: Config;
  try {
    config = configFromEnv(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    return 2;
  }
  const { role } = config;
  const log = createLogger(config.logLevel, { role, component: 'launcher' });

  if (role === 'replica') {
    log.info('replica: running the service without Litestream replication');
    await import('./service.js');
    return new Promise<number>(() => {}); // service.ts exits the process itself
  }

  return runPrimary(config.litestream, serviceArgv(), log);
}

/** This same Node (and loader flags, e.g. tsx's) running service.ts/service.js beside this file. */
function serviceArgv(): string[] {
  const self = fileURLToPath(import.meta.url);
  const mainFile = path.join(path.dirname(self), `service${path.extname(self)}`);
  return [process.execPath, ...process.execArgv, mainFile];
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('fatal:', err);
    process.exit(1);
  },
);
