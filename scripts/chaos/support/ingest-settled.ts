import { maxLikeId } from '../../../testkit/processes/cluster.js';
import { waitFor } from '../../../testkit/processes/service.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves with the newest like id once the database has stopped growing for `quietMs`
 * (the stream ended or was closed, and the last batch is committed).
 */
export async function ingestSettled(dbPath: string, timeoutMs: number, quietMs = 1500): Promise<number> {
  let last = -1;
  let since = Date.now();
  return waitFor(
    async () => {
      const count = maxLikeId(dbPath) ?? 0;
      if (count !== last) {
        last = count;
        since = Date.now();
      } else if (Date.now() - since >= quietMs) {
        return count;
      }
      await sleep(250);
      return undefined;
    },
    timeoutMs,
    'ingest settled',
  );
}
