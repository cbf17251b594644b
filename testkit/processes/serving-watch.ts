/**
 * Watches a primary from outside while something is done to it. Every `gapMs`: its
 * health (answered, and ready), an anonymous getFeedSkeleton (a 200), the newest like id
 * in its file (ingest moving) and the pid of its service. The figures say what the fault
 * cost: how long each went without a good answer, and whether the service was restarted.
 */
import { repeatUntilStopped } from '../polling/repeat.js';
import { maxLikeId } from './cluster.js';
import { healthOf } from './health.js';
import { primaryProcesses } from './process-tree.js';

const PROBE_TIMEOUT_MS = 2000;

export interface ServingFigures {
  /** Longest stretch from a failed probe to the next good one (0: none failed). */
  healthDownMs: number;
  feedDownMs: number;
  /** Longest time between two probes that found a newer like (the probe gap when ingest never paused). */
  ingestStallMs: number;
  probes: number;
  /** Every pid the service had, in order: one when it was never restarted. */
  servicePids: number[];
}

interface Sample {
  atMs: number;
  healthy: boolean;
  feedServed: boolean;
  newestLike: number;
  servicePid: number | undefined;
}

export function watchServing(baseUrl: string, feedUri: string, dbPath: string, launcherPid: number, gapMs = 100): { stop: () => Promise<ServingFigures> } {
  const feedUrl = `${baseUrl}/xrpc/app.bsky.feed.getFeedSkeleton?feed=${encodeURIComponent(feedUri)}&limit=10`;
  const probes = repeatUntilStopped<Sample>(async () => {
    const atMs = Date.now();
    const [health, feed] = await Promise.all([
      healthOf(baseUrl),
      fetch(feedUrl, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }).then((r) => r.status, () => 0),
    ]);
    return { atMs, healthy: health?.ready === true, feedServed: feed === 200, newestLike: maxLikeId(dbPath) ?? 0, servicePid: primaryProcesses(launcherPid).service };
  }, gapMs);
  return {
    stop: async () => {
      const samples = await probes.stop();
      const pids = samples.map((s) => s.servicePid).filter((pid): pid is number => pid !== undefined);
      return {
        healthDownMs: longestOutage(samples, (s) => s.healthy),
        feedDownMs: longestOutage(samples, (s) => s.feedServed),
        ingestStallMs: longestStall(samples),
        probes: samples.length,
        servicePids: pids.filter((pid, k) => pid !== pids[k - 1]),
      };
    },
  };
}

/** Longest time from the first failed sample of a run to the next good one (or the end). */
function longestOutage(samples: Sample[], good: (s: Sample) => boolean): number {
  let longest = 0;
  let badSince: number | undefined;
  for (const sample of samples) {
    if (!good(sample)) badSince ??= sample.atMs;
    else if (badSince !== undefined) {
      longest = Math.max(longest, sample.atMs - badSince);
      badSince = undefined;
    }
  }
  if (badSince !== undefined) longest = Math.max(longest, samples.at(-1)!.atMs - badSince);
  return longest;
}

/** Longest time between two samples that saw the newest like id grow (or from the last one to the end). */
function longestStall(samples: Sample[]): number {
  let longest = 0;
  let grewAt = samples[0]?.atMs ?? 0;
  let newest = samples[0]?.newestLike ?? 0;
  for (const sample of samples) {
    if (sample.newestLike <= newest) continue;
    longest = Math.max(longest, sample.atMs - grewAt);
    grewAt = sample.atMs;
    newest = sample.newestLike;
  }
  return Math.max(longest, (samples.at(-1)?.atMs ?? grewAt) - grewAt);
}
