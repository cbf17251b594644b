/**
 * The production primary (launcher → Litestream → service) on known ports, with
 * Litestream's own metrics on, so a scenario can read both sides: the service's
 * /metrics and /xrpc/_health, and what Litestream says about its replica.
 */
import path from 'node:path';
import { metricValue } from '../../../testkit/metrics/prometheus.js';
import { waitFor } from '../../../testkit/polling/wait-for.js';
import { maxLikeId } from '../../../testkit/processes/cluster.js';
import { freePort } from '../../../testkit/processes/processes.js';
import { type Primary, startPrimary } from '../../../testkit/processes/primary.js';

export interface WatchedPrimary {
  primary: Primary;
  baseUrl: string;
  dbPath: string;
  /** The service's /metrics text, or undefined when it does not answer. */
  metrics(): Promise<string | undefined>;
  /** One of the service's metrics (0 when absent, undefined when the service does not answer). */
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  /** Litestream's own /metrics text, or undefined when it does not answer. */
  litestreamMetrics(): Promise<string | undefined>;
  /** Resolves once the newest like id passes `likeId`; fails with the primary's output if it exits or the time runs out. */
  ingestPast(likeId: number, timeoutMs: number): Promise<void>;
}

export async function startWatchedPrimary(env: Record<string, string>): Promise<WatchedPrimary> {
  const port = await freePort();
  const litestreamAddr = `127.0.0.1:${await freePort()}`;
  const primary = startPrimary({ ...env, PORT: String(port), LITESTREAM_METRICS_ADDR: litestreamAddr });
  const dbPath = path.join(env.DATA_DIR!, 'feed.db');
  const baseUrl = `http://127.0.0.1:${port}`;
  const text = (url: string) =>
    fetch(url, { signal: AbortSignal.timeout(5000) }).then(
      (r) => (r.ok ? r.text() : undefined),
      () => undefined,
    );
  const metrics = () => text(`${baseUrl}/metrics`);
  return {
    primary,
    baseUrl,
    dbPath,
    metrics,
    metric: async (name, labels) => {
      const body = await metrics();
      return body === undefined ? undefined : metricValue(body, name, labels);
    },
    litestreamMetrics: () => text(`http://${litestreamAddr}/metrics`),
    ingestPast: async (likeId, timeoutMs) => {
      await waitFor(
        () => {
          if (primary.child.exitCode !== null || primary.child.signalCode !== null) throw new Error('the primary exited');
          return (maxLikeId(dbPath) ?? 0) > likeId ? true : undefined;
        },
        timeoutMs,
        `ingest past like ${likeId}`,
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; output: ${primary.output().slice(-2000)}`, { cause: err });
      });
    },
  };
}
