/**
 * Serves a JSONL capture as a local Jetstream host:
 *   npm run replay -- --file <jsonl> [--rate N] [--port P] [--sequence] [--at-end idle|close]
 */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type JetstreamReplayOptions, startJetstreamReplay } from '../testkit/standins/jetstream-server.js';

const USAGE = 'usage: npm run replay -- --file <jsonl> [--rate N] [--port P] [--sequence] [--at-end idle|close]';

function usageError(message: string): never {
  console.error(`jetstream-replay: ${message}\n${USAGE}`);
  process.exit(2);
}

function parseCli(args: string[]): JetstreamReplayOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        file: { type: 'string' },
        rate: { type: 'string' },
        port: { type: 'string' },
        sequence: { type: 'boolean' },
        'at-end': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    usageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }

  const { file } = values;
  if (file === undefined) usageError('--file is required');
  if (!statSync(file, { throwIfNoEntry: false })?.isFile()) usageError(`--file ${file}: no such file`);

  const ratePerSec = values.rate === undefined ? 0 : Number(values.rate);
  if (values.rate?.trim() === '' || !Number.isFinite(ratePerSec) || ratePerSec < 0) {
    usageError(`--rate must be a number of events per second >= 0 (0 = unlimited), got ${JSON.stringify(values.rate)}`);
  }

  const port = values.port === undefined ? 0 : Number(values.port);
  if (!/^\d+$/.test(values.port ?? '0') || port > 65535) {
    usageError(`--port must be an integer from 0 to 65535, got ${JSON.stringify(values.port)}`);
  }

  const atEnd = values['at-end'] ?? 'idle';
  if (atEnd !== 'idle' && atEnd !== 'close') usageError(`--at-end must be idle or close, got ${JSON.stringify(atEnd)}`);

  return { file, ratePerSec, port, withSequence: values.sequence ?? false, atEnd };
}

const options = parseCli(process.argv.slice(2));
const server = await startJetstreamReplay(options).catch((err: unknown) => {
  console.error(`jetstream-replay: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
console.log(`jetstream replay listening on ${server.url}/subscribe`);

const shutdown = (): void => {
  server.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(`jetstream-replay: error while closing: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
