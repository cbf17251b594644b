/**
 * Soak: the primary as deployed (launcher → Litestream → service, S3 stand-in) under
 * the firehose rate and light feed load for CHAOS_SOAK_MINUTES (default 30), sampled
 * every 10 s.
 *
 * In steady state: event times follow the wall clock (the dataset's span is the
 * replay's duration) and the retention window is CHAOS_SOAK_RETENTION_MINUTES (default
 * 5), so after a warm-up longer than the window the pruner removes as many likes as
 * arrive. Then nothing that scales with the window (graph, page cache, id caches)
 * should grow, and flat means: the service's whole RSS, Litestream's RSS, the open
 * descriptors and the WAL do not grow from the first fifth after the warm-up to the last.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { writeDatasetFile } from '../../testkit/dataset/file.js';
import { metricValue } from '../../testkit/metrics/prometheus.js';
import { waitFor } from '../../testkit/polling/wait-for.js';
import { waitHealthy } from '../../testkit/processes/health.js';
import { freePort } from '../../testkit/processes/processes.js';
import { startJetstreamReplay } from '../../testkit/standins/jetstream-server.js';
import { startPlcDirectory } from '../../testkit/standins/plc-directory.js';
import { startS3Server } from '../../testkit/standins/s3-server.js';
import { FEED_URI, feedIdentityEnv, SERVICE_DID } from '../../testkit/processes/feed-service.js';
import { primaryEnv, startPrimary } from '../../testkit/processes/primary.js';
import { type ChaosScenario, Checks } from './outcome.js';
import { generateDataset } from '../../testkit/dataset/generator.js';
import { runFeedLoad } from '../bench/feed-load.js';
import { feedTokens } from './support/feed-users.js';
import { fetchMetrics } from './support/metrics-sampler.js';
import { primaryProcesses } from '../../testkit/processes/process-tree.js';
import { median } from './support/duration-figures.js';
import { sampleProcess } from './support/process-sample.js';
import { NEW_DATABASE_PAGE_BYTES } from '../../src/store/database.js';

const FIREHOSE_RATE = 2000;
/** A flat stream: at a constant replay rate, event times keep pace with the wall clock, so the window holds steady. */
const DATASET = { seed: 101, malformedShare: 0, diurnalAmplitude: 0 };
/** Time from generating the dataset to the first like on the wire (launcher, Litestream, service start). */
const START_SLACK_S = 30;
const FEED_RATE = 20;
const FIRST_LIKES_WAIT_MS = 300_000;
const SAMPLE_S = 10;
/** Flatness bounds, last fifth against first fifth (medians). */
const FLAT_GROWTH = 0.25;
const FD_GROWTH = 10;
/** How far the window may drift in steady state (event times follow the diurnal curve a little). */
const WINDOW_DRIFT = 0.15;
/**
 * The graph's bytes per item it holds (likes and posts) may grow this much: only the
 * compacted share and the mix of the two move it. Posts held grow faster than likes
 * in this stream (a post draws likes for hours, the stream lasts one), hence both.
 * Arrays that followed ever-growing ids would double at each power of two (measured:
 * +23 % of the graph at 2^20 post ids, with the window steady).
 */
const GRAPH_BYTES_PER_ITEM_GROWTH = 0.1;
/**
 * Litestream restarts the WAL once it is past 3 × LITESTREAM_MIN_CHECKPOINT_PAGES (8,000):
 * 24,000 pages of a new database's size plus frame headers. It looks once a sync (1 s) and
 * its RESTART waits for the writer's lock, so the file's high-water mark overshoots by the
 * seconds of writes in between.
 */
const WAL_RESTART_BYTES = 24_000 * (NEW_DATABASE_PAGE_BYTES + 24);
const WAL_OVERSHOOT = 0.25;

interface SoakSample {
  atS: number;
  serviceRss: number;
  serviceFds: number;
  litestreamRss: number;
  litestreamFds: number;
  walBytes: number;
  graphBytes: number;
  graphLikes: number;
  graphPosts: number;
  /** Where the service's memory is, for a finding to start from. */
  serviceRssFile: number;
  mainHeapUsed: number;
  mainHeapTotal: number;
  /** Off-heap memory V8 knows of: ArrayBuffers (the graph's typed arrays among them) and strings held outside. */
  external: number;
  writerHeapUsed: number;
  writerHeapTotal: number;
}

export const soak: ChaosScenario = {
  name: 'soak',
  summary: `the primary under Litestream at ${FIREHOSE_RATE} events/s and ${FEED_RATE} feed req/s for CHAOS_SOAK_MINUTES (default 30), its window CHAOS_SOAK_RETENTION_MINUTES (default 5)`,
  inCi: false,
  async run(ctx) {
    const minutes = Number(process.env.CHAOS_SOAK_MINUTES ?? 30);
    const retentionMinutes = Number(process.env.CHAOS_SOAK_RETENTION_MINUTES ?? 5);
    if (!(retentionMinutes >= 2)) throw new Error(`CHAOS_SOAK_RETENTION_MINUTES: at least 2, got ${process.env.CHAOS_SOAK_RETENTION_MINUTES}`);
    if (!(minutes >= 3 * retentionMinutes)) throw new Error(`CHAOS_SOAK_MINUTES: at least 3 retention windows (${3 * retentionMinutes}), got ${minutes}`);
    const checks = new Checks(`${minutes}-minute soak at ${FIREHOSE_RATE} events/s, ${retentionMinutes}-minute window`);
    // The window fills, then the pruner catches up with it.
    const warmupS = Math.max(retentionMinutes * 60 + 120, minutes * 6);
    const totalS = minutes * 60;

    // Like times must advance with the wall clock, or the pruner never reaches a steady window.
    const eventsPerLike = measureEventsPerLike();
    const likes = Math.ceil((FIREHOSE_RATE * (totalS + 180)) / eventsPerLike);
    const spanS = (likes * eventsPerLike) / FIREHOSE_RATE;
    ctx.log(`generating ${likes.toLocaleString()} likes (${eventsPerLike.toFixed(3)} events a like) over ${(spanS / 60).toFixed(1)} minutes of event time...`);
    const endTimeUs = Math.round((Date.now() / 1000 + START_SLACK_S + spanS) * 1e6);
    const file = path.join(ctx.tempDir(), 'stream.jsonl');
    await writeDatasetFile(file, { ...DATASET, likes, days: spanS / 86_400, endTimeUs });
    const s3 = await startS3Server();
    const plc = await startPlcDirectory();
    const replay = await startJetstreamReplay({ file, ratePerSec: FIREHOSE_RATE });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = primaryEnv(s3, `${replay.url}/subscribe`, {
      PORT: String(port),
      ...feedIdentityEnv(plc),
      RETENTION_DAYS: String(retentionMinutes / 1440),
    });
    const launcher = startPrimary(env);
    try {
      await waitHealthy(base, 120_000, 'primary ready', launcher);
      const processes = await waitFor(() => {
        const { litestream, service } = primaryProcesses(launcher.child.pid!);
        return litestream && service ? { litestream, service } : undefined;
      }, 30_000, 'Litestream and the service under the launcher');
      // The dataset opens with posts alone (a quarter of its span): at 60 minutes, some 80 s of replay before the first like.
      await waitFor(async () => (metricValue((await fetchMetrics(base)) ?? '', 'feedgen_graph_likes') > 5000 ? true : undefined), FIRST_LIKES_WAIT_MS, 'likes in the graph');
      const { tokens, oneEach } = await feedTokens(path.join(env.DATA_DIR!, 'feed.db'), plc, SERVICE_DID, { draws: 400, maxShare: 2 / FEED_RATE, seed: 7 });

      // Every 10 s: ten seconds of feed load, then one sample.
      const started = Date.now();
      const samples: SoakSample[] = [];
      let requests = 0;
      let failures = 0;
      await runFeedLoad(base, FEED_URI, oneEach, { ratePerS: FEED_RATE, seconds: Math.ceil(oneEach.length / FEED_RATE) + 1, connections: 2 });
      while ((Date.now() - started) / 1000 < totalS) {
        const load = await runFeedLoad(base, FEED_URI, tokens, { ratePerS: FEED_RATE, seconds: SAMPLE_S, connections: 2 });
        requests += load.requests;
        failures += load.errors + load.non2xx;
        const text = (await fetchMetrics(base)) ?? '';
        const service = sampleProcess(processes.service);
        const litestream = sampleProcess(processes.litestream);
        if (!service || !litestream) throw new Error(`a process is gone: service ${service ? 'up' : 'gone'}, litestream ${litestream ? 'up' : 'gone'}\n${launcher.output().slice(-1500)}`);
        const sample: SoakSample = {
          atS: (Date.now() - started) / 1000,
          serviceRss: service.rssBytes,
          serviceFds: service.fds,
          litestreamRss: litestream.rssBytes,
          litestreamFds: litestream.fds,
          walBytes: metricValue(text, 'feedgen_wal_bytes'),
          graphBytes: metricValue(text, 'feedgen_graph_bytes'),
          graphLikes: metricValue(text, 'feedgen_graph_likes'),
          graphPosts: metricValue(text, 'feedgen_graph_posts'),
          serviceRssFile: service.rssFileBytes,
          mainHeapUsed: metricValue(text, 'feedgen_process_nodejs_heap_size_used_bytes'),
          mainHeapTotal: metricValue(text, 'feedgen_process_nodejs_heap_size_total_bytes'),
          external: metricValue(text, 'feedgen_process_nodejs_external_memory_bytes'),
          writerHeapUsed: metricValue(text, 'feedgen_writer_heap_bytes', { kind: 'used' }),
          writerHeapTotal: metricValue(text, 'feedgen_writer_heap_bytes', { kind: 'total' }),
        };
        samples.push(sample);
        if (samples.length % 6 === 0) {
          ctx.log(
            `${sample.atS.toFixed(0)} s: service ${mb(sample.serviceRss)} MB (${breakdown(sample)}; ${sample.graphLikes} likes, ${sample.graphPosts} posts), ${sample.serviceFds} fds; litestream ${mb(sample.litestreamRss)} MB; WAL ${mb(sample.walBytes)} MB`,
          );
        }
      }

      // First fifth after the warm-up against the last fifth, by their medians.
      const steady = samples.filter((s) => s.atS >= warmupS);
      const fifth = Math.max(1, Math.floor(steady.length / 5));
      const [first, last] = [steady.slice(0, fifth), steady.slice(-fifth)];
      const m = (set: SoakSample[], pick: (s: SoakSample) => number) => median(set.map(pick));
      checks.check('enough samples after the warm-up to compare fifths', steady.length >= 10, `${samples.length} samples, ${steady.length} after a ${warmupS} s warm-up, fifths of ${fifth}`);
      const [windowFirst, windowLast] = [m(first, (s) => s.graphLikes), m(last, (s) => s.graphLikes)];
      checks.check(
        `the like window was steady: pruning kept pace (last fifth within ${WINDOW_DRIFT * 100} % of the first)`,
        Math.abs(windowLast / windowFirst - 1) <= WINDOW_DRIFT,
        `${windowFirst} → ${windowLast} likes in the graph (${mb(m(first, (s) => s.graphBytes))} → ${mb(m(last, (s) => s.graphBytes))} MB)`,
      );
      const bytesPerItem = (s: SoakSample) => s.graphBytes / (s.graphLikes + s.graphPosts);
      checks.check(
        `the graph's memory follows what it holds, not the ids: bytes per like or post held flat (last fifth ≤ first × ${1 + GRAPH_BYTES_PER_ITEM_GROWTH})`,
        m(last, bytesPerItem) <= m(first, bytesPerItem) * (1 + GRAPH_BYTES_PER_ITEM_GROWTH),
        `${m(first, bytesPerItem).toFixed(1)} → ${m(last, bytesPerItem).toFixed(1)} bytes an item; ${m(first, (s) => s.graphPosts)} → ${m(last, (s) => s.graphPosts)} posts held`,
      );
      checks.check(
        `service RSS flat (last fifth ≤ first × ${1 + FLAT_GROWTH})`,
        m(last, (s) => s.serviceRss) <= m(first, (s) => s.serviceRss) * (1 + FLAT_GROWTH),
        `${mb(m(first, (s) => s.serviceRss))} → ${mb(m(last, (s) => s.serviceRss))} MB (first fifth's median sample: ${breakdown(medianSample(first))}; last: ${breakdown(medianSample(last))})`,
      );
      checks.check(
        `Litestream RSS flat (last fifth ≤ first × ${1 + FLAT_GROWTH})`,
        m(last, (s) => s.litestreamRss) <= m(first, (s) => s.litestreamRss) * (1 + FLAT_GROWTH),
        `${mb(m(first, (s) => s.litestreamRss))} → ${mb(m(last, (s) => s.litestreamRss))} MB`,
      );
      checks.check(
        `open descriptors flat (last fifth ≤ first + ${FD_GROWTH}, service and Litestream)`,
        m(last, (s) => s.serviceFds) <= m(first, (s) => s.serviceFds) + FD_GROWTH && m(last, (s) => s.litestreamFds) <= m(first, (s) => s.litestreamFds) + FD_GROWTH,
        `service ${m(first, (s) => s.serviceFds)} → ${m(last, (s) => s.serviceFds)}, Litestream ${m(first, (s) => s.litestreamFds)} → ${m(last, (s) => s.litestreamFds)}`,
      );
      const walMax = Math.max(...steady.map((s) => s.walBytes));
      checks.check(
        `WAL flat (last fifth ≤ first × ${1 + FLAT_GROWTH}) and bounded by Litestream's restart point (every sample ≤ ${mb(WAL_RESTART_BYTES)} MB × ${1 + WAL_OVERSHOOT})`,
        m(last, (s) => s.walBytes) <= m(first, (s) => s.walBytes) * (1 + FLAT_GROWTH) && walMax <= WAL_RESTART_BYTES * (1 + WAL_OVERSHOOT) && steady.every((s) => s.walBytes > 0),
        `median ${mb(m(first, (s) => s.walBytes))} → ${mb(m(last, (s) => s.walBytes))} MB, max ${mb(walMax)} MB (${(walMax / WAL_RESTART_BYTES).toFixed(2)}x the restart point)`,
      );
      const finalText = (await fetchMetrics(base)) ?? '';
      checks.check(
        'the service stayed healthy: feed answers all 2xx, no ingest write error',
        failures === 0 && requests > 0 && metricValue(finalText, 'feedgen_ingest_write_errors_total') === 0,
        `${requests} feed requests, ${failures} failed; ${metricValue(finalText, 'feedgen_graph_likes')} likes in the graph at the end`,
      );
      return checks.rows;
    } catch (err) {
      // The service's own log says why (a stalled ingest, a failed graph poll...).
      throw new Error(`${(err as Error).message}\n--- the primary's last output ---\n${launcher.output().slice(-3000)}`);
    } finally {
      launcher.killAll();
      rmSync(env.DATA_DIR!, { recursive: true, force: true });
      await replay.close();
      await plc.close();
      await s3.close();
    }
  },
};

/** Events per like in the soak's dataset (posts, reposts, unlikes...), from a small sample with the same shares. */
function measureEventsPerLike(): number {
  const likes = 50_000;
  let lines = 0;
  for (const _ of generateDataset({ ...DATASET, likes, days: 0.025, endTimeUs: Date.now() * 1000 })) lines++;
  return lines / likes;
}

/** The sample whose service RSS is the median of the set. */
function medianSample(set: SoakSample[]): SoakSample {
  return [...set].sort((a, b) => a.serviceRss - b.serviceRss)[set.length >> 1]!;
}

/** The service's RSS by part; "native" is what none of the others explain (SQLite's page caches, malloc, code). */
function breakdown(s: SoakSample): string {
  const native = s.serviceRss - s.serviceRssFile - s.mainHeapTotal - s.writerHeapTotal - s.external;
  return `graph ${mb(s.graphBytes)}, main heap ${mb(s.mainHeapUsed)}/${mb(s.mainHeapTotal)}, writer heap ${mb(s.writerHeapUsed)}/${mb(s.writerHeapTotal)}, external ${mb(s.external)}, file ${mb(s.serviceRssFile)}, native ${mb(native)} MB`;
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
