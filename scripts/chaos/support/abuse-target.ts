/**
 * The service under HTTP abuse: its own process (a crash must be visible), fed a
 * generated like stream so feeds have something to rank, with a PLC stand-in for
 * service auth and users registered there with real signing keys.
 */
import { waitFor } from '../../../testkit/polling/wait-for.js';
import { spawnService, type TsChild } from '../../../testkit/processes/child-service.js';
import { registerUser, type SignedUser, startDatasetInputs } from '../../../testkit/processes/feed-service.js';
import { waitHealthy } from '../../../testkit/processes/health.js';
import { freePort } from '../../../testkit/processes/processes.js';
import type { PlcDirectory } from '../../../testkit/standins/plc-directory.js';
import { framesSentFor } from '../../../testkit/standins/jetstream-server.js';
import { WANTED_COLLECTIONS } from '../../../src/ingest/events.js';
import type { ChaosContext } from '../outcome.js';

const READY_TIMEOUT_MS = 120_000;

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
  const inputs = await startDatasetInputs({ seed: 11, likes, malformedShare: 0 });
  const { lines, jetstream, plc } = inputs;
  const actors = [...new Set(lines.map((line) => (JSON.parse(line) as { did: string }).did))].slice(0, userCount);
  const port = await freePort();
  const service = spawnService({ ...inputs.env, DATA_DIR: ctx.tempDir(), PORT: String(port), INGEST_BATCH_WAIT_MS: '20' });
  const base = `http://127.0.0.1:${port}`;
  const alive = () => service.child.exitCode === null && service.child.signalCode === null;
  const stop = async () => {
    service.killAll();
    await inputs.close();
  };
  try {
    const users = await Promise.all(actors.map((did) => registerUser(plc, did)));
    await waitHealthy(base, READY_TIMEOUT_MS, 'the abuse target ready', service);
    await waitFor(() => (jetstream.stats().framesSent >= framesSentFor(lines, WANTED_COLLECTIONS).frames ? true : undefined), READY_TIMEOUT_MS, 'the abuse target sent its likes');
    ctx.log(`service ready on ${base} with ${lines.length} stream lines, ${users.length} signed users`);
    return { base, port, service, plc, users, alive, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
