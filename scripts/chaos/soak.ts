/**
 * Soak: the primary as deployed (launcher → Litestream → service, S3 stand-in) under
 * the firehose rate and light feed load for CHAOS_SOAK_MINUTES (default 30), sampled
 * every 10 s. Flat means: the service's memory beside its like graph, Litestream's
 * memory, the open descriptors and the WAL do not grow from the first fifth (after a
 * warm-up) to the last. The like window grows by design during a soak (pruning acts
 * only at RETENTION_DAYS), so the graph's own bytes (feedgen_graph_bytes, ~28 B a
 * like) are subtracted from the service's RSS rather than hidden in a loose bound.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../bench/processes.js';
import { startJetstreamReplay } from '../standins/jetstream-server.js';
import { startPlcDirectory } from '../standins/plc-directory.js';
import { startS3Server } from '../standins/s3-server.js';
import { FEED_HOSTNAME, FEED_URI, PUBLISHER_DID, SERVICE_DID } from '../../test/support/feed-service.js';
import { primaryEnv, startPrimary } from '../../test/support/primary.js';
import { metricValue, waitFor } from '../../test/support/service.js';
import { type ChaosScenario, Checks } from './outcome.js';
import { writeDataset } from './support/dataset-file.js';
import { runFeedLoad } from '../bench/feed-load.js';
import { feedTokens } from './support/feed-users.js';
import { fetchMetrics } from './support/metrics-sampler.js';
import { descendants, median, sampleProcess } from './support/process-sample.js';

const FIREHOSE_RATE = 2000;
const FEED_RATE = 20;
const SAMPLE_S = 10;
/** Flatness bounds, last fifth against first fifth (medians). */
const RSS_GROWTH = 0.25;
const FD_GROWTH = 10;
/** Litestream restarts the WAL past 3 × LITESTREAM_MIN_CHECKPOINT_PAGES (8,000): 24,000 pages of 4 KiB plus frame headers. */
const WAL_CEILING_BYTES = 24_000 * (4096 + 24);

interface SoakSample {
  atS: number;
  serviceRss: number;
  serviceFds: number;
  litestreamRss: number;
  litestreamFds: number;
  walBytes: number;
  graphBytes: number;
  graphLikes: number;
}

export const soak: ChaosScenario = {
  name: 'soak',
  summary: `the primary under Litestream at ${FIREHOSE_RATE} events/s and ${FEED_RATE} feed req/s for CHAOS_SOAK_MINUTES (default 30)`,
  inCi: false,
  async run(ctx) {
    const minutes = Number(process.env.CHAOS_SOAK_MINUTES ?? 30);
    if (!(minutes >= 2)) throw new Error(`CHAOS_SOAK_MINUTES: at least 2, got ${process.env.CHAOS_SOAK_MINUTES}`);
    const checks = new Checks(`${minutes}-minute soak at ${FIREHOSE_RATE} events/s`);
    const warmupS = Math.max(30, minutes * 6); // a tenth of the run
    const totalS = minutes * 60;

    ctx.log(`generating ${(FIREHOSE_RATE * (totalS + 120)).toLocaleString()} likes...`);
    const file = await writeDataset(ctx.tempDir(), 'stream', { seed: 101, likes: FIREHOSE_RATE * (totalS + 120), malformedShare: 0 });
    const s3 = await startS3Server();
    const plc = await startPlcDirectory();
    const replay = await startJetstreamReplay({ file, ratePerSec: FIREHOSE_RATE });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = primaryEnv(s3, `${replay.url}/subscribe`, {
      PORT: String(port),
      FEEDGEN_HOSTNAME: FEED_HOSTNAME,
      FEEDGEN_PUBLISHER_DID: PUBLISHER_DID,
      PLC_URL: plc.url,
    });
    const launcher = startPrimary(env);
    try {
      await waitFor(async () => ((await fetch(`${base}/xrpc/_health`).then((r) => r.json() as Promise<{ ready: boolean }>, () => undefined))?.ready ? true : undefined), 120_000, 'primary ready');
      const processes = await waitFor(() => {
        const tree = descendants(launcher.child.pid!);
        const litestream = tree.find((p) => p.comm === 'litestream');
        const service = tree.filter((p) => p.comm === 'node' || p.comm === 'MainThread').at(-1);
        return litestream && service ? { litestream: litestream.pid, service: service.pid } : undefined;
      }, 30_000, 'Litestream and the service under the launcher');
      await waitFor(async () => (metricValue((await fetchMetrics(base)) ?? '', 'feedgen_graph_likes') > 5000 ? true : undefined), 60_000, 'likes in the graph');
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
        };
        samples.push(sample);
        if (samples.length % 6 === 0) {
          ctx.log(`${sample.atS.toFixed(0)} s: service ${mb(sample.serviceRss)} MB (graph ${mb(sample.graphBytes)} MB, ${sample.graphLikes} likes), ${sample.serviceFds} fds; litestream ${mb(sample.litestreamRss)} MB; WAL ${mb(sample.walBytes)} MB`);
        }
      }

      // First fifth after the warm-up against the last fifth, by their medians.
      const steady = samples.filter((s) => s.atS >= warmupS);
      const fifth = Math.max(1, Math.floor(steady.length / 5));
      const [first, last] = [steady.slice(0, fifth), steady.slice(-fifth)];
      const m = (set: SoakSample[], pick: (s: SoakSample) => number) => median(set.map(pick));
      const beside = (s: SoakSample) => s.serviceRss - s.graphBytes;
      checks.check('enough samples after the warm-up to compare fifths', steady.length >= 10, `${samples.length} samples, ${steady.length} after a ${warmupS} s warm-up, fifths of ${fifth}`);
      checks.check(
        `service RSS beside the like graph flat (last fifth ≤ first × ${1 + RSS_GROWTH})`,
        m(last, beside) <= m(first, beside) * (1 + RSS_GROWTH),
        `${mb(m(first, beside))} → ${mb(m(last, beside))} MB; whole RSS ${mb(m(first, (s) => s.serviceRss))} → ${mb(m(last, (s) => s.serviceRss))} MB while the graph went ${m(first, (s) => s.graphLikes)} → ${m(last, (s) => s.graphLikes)} likes (${mb(m(first, (s) => s.graphBytes))} → ${mb(m(last, (s) => s.graphBytes))} MB)`,
      );
      checks.check(
        `Litestream RSS flat (last fifth ≤ first × ${1 + RSS_GROWTH})`,
        m(last, (s) => s.litestreamRss) <= m(first, (s) => s.litestreamRss) * (1 + RSS_GROWTH),
        `${mb(m(first, (s) => s.litestreamRss))} → ${mb(m(last, (s) => s.litestreamRss))} MB`,
      );
      checks.check(
        `open descriptors flat (last fifth ≤ first + ${FD_GROWTH}, service and Litestream)`,
        m(last, (s) => s.serviceFds) <= m(first, (s) => s.serviceFds) + FD_GROWTH && m(last, (s) => s.litestreamFds) <= m(first, (s) => s.litestreamFds) + FD_GROWTH,
        `service ${m(first, (s) => s.serviceFds)} → ${m(last, (s) => s.serviceFds)}, Litestream ${m(first, (s) => s.litestreamFds)} → ${m(last, (s) => s.litestreamFds)}`,
      );
      const walMax = Math.max(...steady.map((s) => s.walBytes));
      checks.check(
        `WAL within the checkpoint band (every sample ≤ ${mb(WAL_CEILING_BYTES)} MB)`,
        walMax <= WAL_CEILING_BYTES && steady.every((s) => s.walBytes > 0),
        `median ${mb(m(first, (s) => s.walBytes))} → ${mb(m(last, (s) => s.walBytes))} MB, max ${mb(walMax)} MB`,
      );
      const finalText = (await fetchMetrics(base)) ?? '';
      checks.check(
        'the service stayed healthy: feed answers all 2xx, no ingest write error',
        failures === 0 && requests > 0 && metricValue(finalText, 'feedgen_ingest_write_errors_total') === 0,
        `${requests} feed requests, ${failures} failed; ${metricValue(finalText, 'feedgen_graph_likes')} likes in the graph at the end`,
      );
      return checks.rows;
    } finally {
      launcher.killAll();
      rmSync(env.DATA_DIR!, { recursive: true, force: true });
      await replay.close();
      await plc.close();
      await s3.close();
    }
  },
};

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
