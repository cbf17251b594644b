import { existsSync, mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DatasetOptions } from '../../testkit/dataset/generator.js';
import { writeDatasetFile } from '../../testkit/dataset/file.js';
import { metricTotal } from '../../testkit/metrics/prometheus.js';
import { REPO_ROOT } from '../../testkit/processes/processes.js';

/** A generated dataset under bench-output/, made once per (likes, seed) and reused. */
export async function ensureDataset(options: DatasetOptions & { name: string }): Promise<string> {
  const dir = path.join(REPO_ROOT, 'bench-output');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${options.name}.jsonl`);
  if (existsSync(file)) return file;
  console.error(`generating ${options.likes.toLocaleString()} likes into ${path.relative(REPO_ROOT, file)}...`);
  const partial = `${file}.partial`;
  let chunks = 0;
  await writeDatasetFile(partial, options, {
    afterChunk: () => {
      if (++chunks % 200 === 0) console.error(`  ${chunks} MiB`);
    },
  });
  renameSync(partial, file);
  return file;
}

/** Frames the service has counted (every outcome) at `metricsUrl`. */
export async function ingestedEvents(metricsUrl: string): Promise<number> {
  const text = await fetch(metricsUrl).then((response) => response.text());
  return metricTotal(text, 'feedgen_ingest_events_total');
}

/** Polls until the service has taken its first event: start-up is not part of a warm-up. */
export async function waitForFirstEvent(metricsUrl: string): Promise<void> {
  while ((await ingestedEvents(metricsUrl).catch(() => 0)) === 0) await sleep(200);
}

/** Polls /metrics until the ingest counters stop moving for `settleMs`; reports progress on stderr. */
export async function waitForIngestToSettle(metricsUrl: string, settleMs = 2000) {
  let first: { at: number; events: number } | undefined;
  let last = { at: Date.now(), events: 0, likesStored: 0 };
  let lastReport = 0;
  for (;;) {
    await sleep(100);
    const text = await fetch(metricsUrl).then((r) => r.text(), () => undefined);
    if (text === undefined) continue;
    const events = metricTotal(text, 'feedgen_ingest_events_total');
    const now = Date.now();
    if (events > last.events) {
      first ??= { at: last.at, events: last.events };
      last = { at: now, events, likesStored: metricTotal(text, 'feedgen_ingest_events_total', { kind: 'like', outcome: 'stored' }) };
    } else if (first && now - last.at > settleMs) {
      break;
    }
    if (first && now - lastReport > 2000) {
      lastReport = now;
      console.error(`  ${events.toLocaleString()} events, ${Math.round((events - first.events) / ((now - first.at) / 1000)).toLocaleString()}/s`);
    }
  }
  return { events: last.events - (first?.events ?? 0), likesStored: last.likesStored, seconds: (last.at - (first?.at ?? last.at)) / 1000 };
}
