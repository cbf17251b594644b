/**
 * Litestream's S3 requests at a steady ingest rate, by billing class, for one sync
 * interval: the launcher on a fresh database and bucket prefix, the replay server paced
 * at `ratePerS`, requests counted by the local S3 server over a window after a warm-up,
 * scaled to an hour and priced for a month.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RequestClass, S3Server } from '../../testkit/standins/s3-server.js';
import { ingestedEvents, waitForFirstEvent } from './ingest-phase.js';
import { unlessExited } from './restore-children.js';
import { withReplay } from './restore-ingest.js';
import { startLauncher } from './restore-launcher.js';

/** Tigris list prices, USD per 1,000 requests: PUT and LIST are class A, GET class B, DELETE free. */
export const USD_PER_1000_REQUESTS: Record<RequestClass, number> = { PUT: 0.005, LIST: 0.005, GET: 0.0005, DELETE: 0, OTHER: 0 };
export const HOURS_PER_MONTH = 730;

export interface CostOptions {
  dataset: string;
  dataDir: string;
  logFile: string;
  syncInterval: string;
  ratePerS: number;
  warmupS: number;
  windowS: number;
}

export interface RequestCost {
  syncInterval: string;
  /** Ingest rate the service kept up over the window. */
  eventsPerS: number;
  requestsPerHour: Record<RequestClass, number>;
  /** WAL segments Litestream uploaded (objects), and their size before compression. */
  walSegmentsPerHour: number;
  walMbPerHour: number;
  usdPerMonth: number;
}

export async function measureRequestCost(s3: S3Server, options: CostOptions): Promise<RequestCost> {
  return withReplay(options.dataset, options.ratePerS, async (jetstreamUrl) => {
    const launcher = await startLauncher({
      dataDir: options.dataDir,
      jetstreamUrl,
      s3Env: s3.env(),
      prefix: `cost-${options.syncInterval}`,
      logFile: options.logFile,
      syncInterval: options.syncInterval,
    });
    try {
      const running = <T>(work: Promise<T>) => unlessExited(launcher.child, 'the launcher', work);
      await running(waitForFirstEvent(launcher.metricsUrl));
      await running(sleep(options.warmupS * 1000));
      const before = { requests: s3.requests(), events: await ingestedEvents(launcher.metricsUrl), log: launcher.counts() };
      const started = performance.now();
      await running(sleep(options.windowS * 1000));
      const after = { requests: s3.requests(), events: await ingestedEvents(launcher.metricsUrl), log: launcher.counts() };
      const perHour = 3600 / ((performance.now() - started) / 1000);

      const requestsPerHour = { PUT: 0, GET: 0, LIST: 0, DELETE: 0, OTHER: 0 };
      for (const name of Object.keys(requestsPerHour) as RequestClass[]) {
        requestsPerHour[name] = (after.requests[name] - before.requests[name]) * perHour;
      }
      return {
        syncInterval: options.syncInterval,
        eventsPerS: ((after.events - before.events) * perHour) / 3600,
        requestsPerHour,
        walSegmentsPerHour: (after.log.walSegments - before.log.walSegments) * perHour,
        walMbPerHour: ((after.log.walSegmentBytes - before.log.walSegmentBytes) * perHour) / 1e6,
        usdPerMonth: monthlyUsd(requestsPerHour),
      };
    } finally {
      await launcher.stop();
    }
  });
}

export function monthlyUsd(requestsPerHour: Record<RequestClass, number>): number {
  let usd = 0;
  for (const [name, count] of Object.entries(requestsPerHour) as Array<[RequestClass, number]>) {
    usd += (count * HOURS_PER_MONTH * USD_PER_1000_REQUESTS[name]) / 1000;
  }
  return usd;
}
