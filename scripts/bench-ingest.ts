/**
 * Ingest benchmark: a generated like stream replayed over a real WebSocket into a
 * fresh database by the service process itself, then the raw limit of the same
 * rows through a bare better-sqlite3 loop, side by side in one run.
 *
 *   npm run bench:ingest [-- --likes 2000000 --seed 42]
 *
 * Prints progress, a table, and one closing JSON line of the figures.
 */
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { configFromEnv } from '../src/config/config.js';
import { generateDatasetChunks } from './dataset/generator.js';
import { buildService, cpuSeconds, freePort, peakRssMb, REPO_ROOT, spawnBuiltService, spawnTs, stopChild, waitForLine } from './bench/processes.js';
import { measureRawInsertLimit } from './bench/raw-insert.js';

const POLL_MS = 100;
/** Ingest is done when the event counters stay still this long. */
const SETTLE_MS = 2000;

const { values } = parseArgs({
  options: {
    likes: { type: 'string', default: '2000000' },
    seed: { type: 'string', default: '42' },
  },
});
const likes = Number(values.likes);
const seed = Number(values.seed);
if (!Number.isSafeInteger(likes) || likes < 1000) throw new Error('--likes must be an integer >= 1000');
if (!Number.isSafeInteger(seed)) throw new Error('--seed must be an integer');

const outDir = path.join(REPO_ROOT, 'bench-output');
mkdirSync(outDir, { recursive: true });
const dataset = await ensureDataset(path.join(outDir, `likes-${likes}-seed${seed}.jsonl`));

// 1. End to end: replay server and the compiled service as separate processes, as in production.
console.error('building the service...');
buildService();
const dataDir = path.join(outDir, 'ingest-data');
rmSync(dataDir, { recursive: true, force: true });
const replay = spawnTs('scripts/jetstream-replay.ts', ['--file', dataset, '--at-end', 'idle']);
const jetstreamUrl = await waitForLine(replay, /listening on (\S+)/);
const port = await freePort();
const service = spawnBuiltService({ DATA_DIR: dataDir, PORT: String(port), JETSTREAM_URL: jetstreamUrl, LOG_LEVEL: 'warn' });
service.stderr!.pipe(process.stderr);
const e2e = await followIngest(`http://127.0.0.1:${port}/metrics`, service.pid!);
await stopChild(service);
await stopChild(replay);

// 2. The raw limit of the same rows, measured right after on the same machine.
console.error('measuring the raw insert limit...');
const rawDir = path.join(outDir, 'raw-data');
rmSync(rawDir, { recursive: true, force: true });
const raw = await measureRawInsertLimit(dataset, path.join(rawDir, 'feed.db'), configFromEnv(process.env).db);
rmSync(rawDir, { recursive: true, force: true });

const figures = {
  likes_in_dataset: likes,
  events: e2e.events,
  likes_stored: e2e.likesStored,
  seconds: round(e2e.seconds, 2),
  events_per_s: Math.round(e2e.events / e2e.seconds),
  likes_per_s: Math.round(e2e.likesStored / e2e.seconds),
  raw_limit_events_per_s: Math.round(raw.rowsPerSecond),
  ratio_to_raw: round(e2e.events / e2e.seconds / raw.rowsPerSecond, 2),
  peak_rss_mb: Math.round(e2e.peakRssMb),
  cpu_s_per_million_events: round((e2e.cpuSeconds / e2e.events) * 1e6, 2),
};
console.log('');
console.log('ingest benchmark');
console.log(`  dataset                 ${path.relative(REPO_ROOT, dataset)} (${likes.toLocaleString()} likes)`);
console.log(`  frames ingested         ${e2e.events.toLocaleString()} in ${figures.seconds} s`);
console.log(`  end to end              ${figures.events_per_s.toLocaleString()} events/s (${figures.likes_per_s.toLocaleString()} likes/s)`);
console.log(`  raw limit (bare loop)   ${figures.raw_limit_events_per_s.toLocaleString()} like rows/s`);
console.log(`  end to end / raw        ${figures.ratio_to_raw}`);
console.log(`  service peak RSS        ${figures.peak_rss_mb} MB`);
console.log(`  service CPU             ${figures.cpu_s_per_million_events} s per million events`);
console.log(JSON.stringify(figures));

async function ensureDataset(file: string): Promise<string> {
  if (existsSync(file)) return file;
  console.error(`generating ${likes.toLocaleString()} likes into ${path.relative(REPO_ROOT, file)}...`);
  const partial = `${file}.partial`;
  const out = createWriteStream(partial);
  let chunks = 0;
  for (const chunk of generateDatasetChunks({ seed, likes })) {
    if (!out.write(chunk)) await once(out, 'drain');
    if (++chunks % 200 === 0) console.error(`  ${chunks} MiB`);
  }
  out.end();
  await once(out, 'finish');
  renameSync(partial, file);
  return file;
}

/** Polls the service's metrics until its event counters settle; times the span they moved. */
async function followIngest(metricsUrl: string, pid: number) {
  let first: { at: number; events: number } | undefined;
  let last = { at: Date.now(), events: 0, likesStored: 0 };
  let lastReport = 0;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const text = await fetch(metricsUrl).then((r) => r.text(), () => undefined);
    if (text === undefined) continue;
    const events = sumMetric(text, 'feedgen_ingest_events_total');
    const now = Date.now();
    if (events > last.events) {
      first ??= { at: last.at, events: last.events };
      last = { at: now, events, likesStored: sumMetric(text, 'feedgen_ingest_events_total', 'kind="like",outcome="stored"') };
    } else if (first && now - last.at > SETTLE_MS) {
      break;
    }
    if (first && now - lastReport > 2000) {
      lastReport = now;
      console.error(`  ${events.toLocaleString()} events, ${Math.round((events - first.events) / ((now - first.at) / 1000)).toLocaleString()}/s`);
    }
  }
  return {
    events: last.events - first.events,
    likesStored: last.likesStored,
    seconds: (last.at - first.at) / 1000,
    peakRssMb: peakRssMb(pid),
    cpuSeconds: cpuSeconds(pid),
  };
}

function sumMetric(text: string, name: string, labelsFilter = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(labelsFilter)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}
