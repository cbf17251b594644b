/**
 * The service under HTTP abuse: its own process (a crash must be visible), fed a
 * generated like stream so feeds have something to rank, with a PLC stand-in for
 * service auth and users registered there with real signing keys.
 */
import { freePort } from '../../../testkit/processes/processes.js';
import { generateDataset } from '../../../testkit/dataset/generator.js';
import { startJetstreamReplay } from '../../../testkit/standins/jetstream-server.js';
import { type PlcDirectory, startPlcDirectory } from '../../../testkit/standins/plc-directory.js';
import { spawnService, type TsChild } from '../../../testkit/processes/child-service.js';
import { FEED_HOSTNAME, PUBLISHER_DID, registerUser, type SignedUser } from '../../../testkit/processes/feed-service.js';
import { waitFor } from '../../../testkit/processes/service.js';
import type { ChaosContext } from '../outcome.js';

export interface AbuseTarget {
  base: string;
  port: number;
  service: TsChild;
  plc: PlcDirectory;
  /** Actors of the stream (so they get personal rankings), signing keys registered. */
  users: SignedUser[];
  alive(): boolean;
  stop(): Promise<void>;
}

export async function startAbuseTarget(ctx: ChaosContext, likes: number, userCount: number): Promise<AbuseTarget> {
  const lines = [...generateDataset({ seed: 11, likes, endTimeUs: Math.floor(Date.now() / 1000) * 1e6, malformedShare: 0 })];
  const actors = [...new Set(lines.map((line) => (JSON.parse(line) as { did: string }).did))].slice(0, userCount);
  const jetstream = await startJetstreamReplay({ lines });
  const plc = await startPlcDirectory();
  const port = await freePort();
  const service = spawnService({
    DATA_DIR: ctx.tempDir(),
    PORT: String(port),
    JETSTREAM_URL: `${jetstream.url}/subscribe`,
    FEEDGEN_HOSTNAME: FEED_HOSTNAME,
    FEEDGEN_PUBLISHER_DID: PUBLISHER_DID,
    PLC_URL: plc.url,
    GRAPH_POLL_MS: '50',
    POPULAR_REFRESH_MS: '300',
    INGEST_BATCH_WAIT_MS: '20',
  });
  const base = `http://127.0.0.1:${port}`;
  const alive = () => service.child.exitCode === null && service.child.signalCode === null;
  const stop = async () => {
    service.killAll();
    await jetstream.close();
    await plc.close();
  };
  try {
    const users = await Promise.all(actors.map((did) => registerUser(plc, did)));
    await waitFor(
      async () => {
        if (!alive()) throw new Error(`service exited: ${service.output().slice(-500)}`);
        const health = await fetch(`${base}/xrpc/_health`).then((r) => r.json() as Promise<{ ready?: boolean }>).catch(() => undefined);
        return health?.ready && jetstream.stats().framesSent >= lines.length ? true : undefined;
      },
      120_000,
      'the abuse target ready with its likes',
    );
    ctx.log(`service ready on ${base} with ${lines.length} stream lines, ${users.length} signed users`);
    return { base, port, service, plc, users, alive, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
