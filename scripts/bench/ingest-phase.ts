import { existsSync, mkdirSync, createWriteStream, renameSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { generateDatasetChunks, type DatasetOptions } from '../../testkit/dataset/generator.js';
import { REPO_ROOT } from '../../testkit/processes/processes.js';

/** A generated dataset under bench-output/, made once per (likes, seed) and reused. */
export async function ensureDataset(options: DatasetOptions & { name: string }): Promise<string> {
  const dir = path.join(REPO_ROOT, 'bench-output');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${options.name}.jsonl`);
  if (existsSync(file)) return file;
  console.error(`generating ${options.likes.toLocaleString()} likes into ${path.relative(REPO_ROOT, file)}...`);
  const partial = `${file}.partial`;
  const out = createWriteStream(partial);
  let chunks = 0;
  for (const chunk of generateDatasetChunks(options)) {
    if (!out.write(chunk)) await once(out, 'drain');
    if (++chunks % 200 === 0) console.error(`  ${chunks} MiB`);
  }
  out.end();
  await once(out, 'finish');
  renameSync(partial, file);
  return file;
}

/** Sum of a Prometheus metric's samples whose label text contains `labelsFilter`. */
export function sumMetric(text: string, name: string, labelsFilter = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(labelsFilter)) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

/** Polls /metrics until the ingest counters stop moving for `settleMs`; reports progress on stderr. */
export async function waitForIngestToSettle(metricsUrl: string, settleMs = 2000) {
  let first: { at: number; events: number } | undefined;
  let last = { at: Date.now(), events: 0, likesStored: 0 };
  let lastReport = 0;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const text = await fetch(metricsUrl).then((r) => r.text(), () => undefined);
    if (text === undefined) continue;
    const events = sumMetric(text, 'feedgen_ingest_events_total');
    const now = Date.now();
    if (events > last.events) {
      first ??= { at: last.at, events: last.events };
      last = { at: now, events, likesStored: sumMetric(text, 'feedgen_ingest_events_total', 'kind="like",outcome="stored"') };
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
