/**
 * The reference a fault run is compared with: the same stream ingested once, without
 * faults, by the service as its own process.
 */
import path from 'node:path';
import { startJetstreamReplay } from '../../../testkit/standins/jetstream-server.js';
import { spawnService } from '../../../testkit/processes/child-service.js';
import { type DbContent, dbContent } from './db-content.js';
import { waitFor } from '../../../testkit/polling/wait-for.js';
import { waitQuiet } from './poll-waits.js';

export async function cleanRun(lines: readonly string[], dataDir: string): Promise<DbContent> {
  const replay = await startJetstreamReplay({ lines });
  const service = spawnService({ DATA_DIR: dataDir, PORT: '0', JETSTREAM_URL: `${replay.url}/subscribe`, INGEST_BATCH_WAIT_MS: '20' });
  const dbPath = path.join(dataDir, 'feed.db');
  try {
    await waitFor(
      () => {
        if (service.child.exitCode !== null) throw new Error(`clean run exited:\n${service.output().slice(-2000)}`);
        return replay.connectionLog().some((c) => c.lastLine === lines.length) ? true : undefined;
      },
      120_000,
      'the clean run to receive the whole stream',
    );
    await waitQuiet(dbPath, 1000, 60_000);
    service.child.kill('SIGTERM');
    await service.exited;
    return dbContent(dbPath);
  } finally {
    service.killAll();
    await replay.close();
  }
}
