/**
 * Feed benchmark: for each dataset size, ingest a generated like stream through the
 * normal path, restart the service (timing start-up to serving), then drive
 * getFeedSkeleton over real HTTP with autocannon at a fixed rate, users drawn by
 * their activity, while ingest goes on at the firehose rate; then the same rate again
 * with Poisson arrivals (no bursts: see bench/poisson-load.ts), side by side.
 *
 *   npm run bench:feed [-- --sizes 2500000,5000000,10000000 --rate 200 --seconds 60]
 *
 * Prints a table per size and one closing JSON line (figures of the largest size,
 * plus the series).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../testkit/dataset/random.js';
import { startPlcDirectory } from '../testkit/standins/plc-directory.js';
import { drawUsersByActivity, runFeedLoad, signTokens } from './bench/feed-load.js';
import { runPoissonFeedLoad } from './bench/poisson-load.js';
import { ensureDataset, waitForIngestToSettle } from './bench/ingest-phase.js';
import { metricTotal } from '../testkit/metrics/prometheus.js';
import { waitHealthy } from '../testkit/processes/health.js';
import { buildService, cpuSeconds, freePort, peakRssMb, REPO_ROOT, spawnBuiltService, spawnTs, stopChild, waitForLine } from '../testkit/processes/processes.js';

const PUBLISHER = 'did:plc:benchpublisherxxxxxxxxxx';
const SERVICE_DID = 'did:web:feed.bench.local';
const FEED_URI = `at://${PUBLISHER}/app.bsky.feed.generator/for-you`;
const FIREHOSE_RATE = 2000;
const USER_DRAWS = 2000;
const WARMUP_S = 15;
/** Far more than start-up takes at the largest size: a bound, so a stuck service ends the run. */
const STARTUP_TIMEOUT_MS = 30 * 60_000;

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '2500000,5000000,10000000' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '60' },
    // autocannon paces each connection alike, so n connections send in bursts of n.
    connections: { type: 'string', default: '8' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
if (sizes.some((n) => !Number.isSafeInteger(n) || n < 10_000)) throw new Error('--sizes: integers of at least 10000');
if (!(rate > 0) || !(seconds > 0) || !(connections >= 1)) throw new Error('--rate, --seconds and --connections must be positive');

// Datasets end at the current hour, so "recent" means recent when the benchmark runs.
const endTimeUs = Math.floor(Date.now() / 3_600_000) * 3_600_000_000;
const hourTag = new Date(endTimeUs / 1000).toISOString().slice(0, 13).replace(/\D/g, '');
console.error('building the service...');
buildService();
const plc = await startPlcDirectory();
const rows: Array<Awaited<ReturnType<typeof benchSize>>> = [];
for (const likes of sizes) rows.push(await benchSize(likes));
await plc.close();

console.log('');
console.log(`feed benchmark (getFeedSkeleton first pages, ${rate} req/s over ${connections} connections, ingest at 2,000 events/s alongside)`);
console.log('likes       | load s | start s | p50 ms | p99 ms | req/s | cpu ms/req | rss MB | preset  | poisson p50 ms | p99 ms | req/s');
for (const r of rows) {
  console.log(
    `${String(r.likes).padEnd(11)} | ${String(r.load_s).padStart(6)} | ${String(r.startup_s).padStart(7)} | ${String(r.p50_ms).padStart(6)} | ${String(r.p99_ms).padStart(6)} | ${String(r.rps).padStart(5)} | ${String(r.cpu_ms_per_req).padStart(10)} | ${String(r.rss_mb).padStart(6)} | ${r.preset.padEnd(7)} | ${String(r.poisson_p50_ms).padStart(14)} | ${String(r.poisson_p99_ms).padStart(6)} | ${String(r.poisson_rps).padStart(5)}`,
  );
}
const largest = rows[rows.length - 1]!;
const growth = rows.slice(1).map((r, i) => Number((r.p99_ms / Math.max(rows[i]!.p99_ms, 0.001)).toFixed(2)));
console.log(JSON.stringify({ ...largest, p99_growth_per_doubling: growth, series: rows }));

async function benchSize(likes: number) {
  const dataset = await ensureDataset({ name: `likes-${likes}-seed42-${hourTag}`, seed: 42, likes, endTimeUs });
  const tail = await ensureDataset({ name: `tail-seed43-${hourTag}`, seed: 43, likes: 300_000, endTimeUs: endTimeUs + 3_600_000_000 });
  const dataDir = path.join(REPO_ROOT, 'bench-output', `feed-data-${likes}`);
  rmSync(dataDir, { recursive: true, force: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    DATA_DIR: dataDir,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    PLC_URL: plc.url,
    FEEDGEN_SERVICE_DID: SERVICE_DID,
    FEEDGEN_PUBLISHER_DID: PUBLISHER,
    // The benchmark measures the full ranking: no automatic switch to the cheap preset unless it must.
    FEED_LATENCY_BUDGET_MS: '50',
  };

  // 1. Load through the normal path: replay → ingest → SQLite → like graph.
  console.error(`[${likes}] ingesting...`);
  const replay = spawnTs('scripts/jetstream-replay.ts', ['--file', dataset]);
  const jetstreamUrl = await waitForLine(replay, /listening on (\S+)/);
  let service = spawnBuiltService({ ...env, JETSTREAM_URL: jetstreamUrl });
  service.stderr!.pipe(process.stderr);
  const ingest = await waitForIngestToSettle(`${base}/metrics`);
  await stopChild(service);
  await stopChild(replay);

  // 2. Start-up to serving: a fresh process loads the graph from the database.
  console.error(`[${likes}] restarting...`);
  const tailReplay = spawnTs('scripts/jetstream-replay.ts', ['--file', tail, '--rate', String(FIREHOSE_RATE)]);
  const tailUrl = await waitForLine(tailReplay, /listening on (\S+)/);
  const started = Date.now();
  service = spawnBuiltService({ ...env, JETSTREAM_URL: tailUrl });
  service.stderr!.pipe(process.stderr);
  await waitHealthy(base, STARTUP_TIMEOUT_MS, `[${likes}] the restarted service ready`, { child: service });
  const startupS = (Date.now() - started) / 1000;

  // 3. Load: first pages at a fixed rate, users drawn by activity, ingest going on.
  console.error(`[${likes}] ready in ${startupS} s; ${rate} req/s for ${seconds} s...`);
  const rng = new Rng(20261127);
  const users = drawUsersByActivity(path.join(dataDir, 'feed.db'), USER_DRAWS, () => rng.float());
  const tokens = await signTokens(users, plc, SERVICE_DID);
  // Warm-up at the same rate: JIT, first token checks, DID documents; not measured.
  await runFeedLoad(base, FEED_URI, tokens, { ratePerS: rate, seconds: WARMUP_S, connections });
  const cpuBefore = cpuSeconds(service.pid!);
  const load = await runFeedLoad(base, FEED_URI, tokens, { ratePerS: rate, seconds, connections });
  const cpuUsed = cpuSeconds(service.pid!) - cpuBefore;
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const poisson = await runPoissonFeedLoad(base, FEED_URI, tokens, { ratePerS: rate, seconds, seed: likes });
  const rssMb = Number(/^feedgen_process_(?:process_)?resident_memory_bytes (\S+)$/m.exec(metrics)?.[1] ?? 0) / 1e6;
  const row = {
    likes,
    load_s: ingest.seconds,
    startup_s: startupS,
    p50_ms: load.p50Ms,
    p99_ms: load.p99Ms,
    rps: Math.round(load.rps),
    cpu_ms_per_req: Number(((cpuUsed * 1000) / Math.max(load.requests, 1)).toFixed(2)),
    rss_mb: Math.round(rssMb),
    peak_rss_mb: Math.round(peakRssMb(service.pid!)),
    requests: load.requests,
    non2xx: load.non2xx,
    errors: load.errors,
    preset: metricTotal(metrics, 'feedgen_ranker_preset', { preset: 'cheap' }) === 1 ? 'cheap' : 'default',
    preset_switches: metricTotal(metrics, 'feedgen_ranker_preset_switches_total'),
    graph_mb: Math.round(metricTotal(metrics, 'feedgen_graph_bytes') / 1e6),
    poisson_p50_ms: poisson.p50Ms,
    poisson_p99_ms: poisson.p99Ms,
    poisson_rps: Math.round(poisson.rps),
    poisson_non2xx: poisson.non2xx,
    poisson_errors: poisson.errors,
  };
  await stopChild(service);
  await stopChild(tailReplay);
  rmSync(dataDir, { recursive: true, force: true });
  return row;
}
