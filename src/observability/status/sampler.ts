import type { Gauge, Histogram, MetricValue } from 'prom-client';
import type { AppContext } from '../../roles/context.js';
import { fileSizes } from '../../store/database.js';
import { RESTORED_AFRESH } from '../../replication/follower/poll-outcome.js';
import type { QualityRow } from '../../feed/served-log.js';
import { type Machines, readMachines } from './peers.js';
import { type Buckets, bucketGrowth, bucketQuantile, counterRate, type Point, Series } from './series.js';

/** One sample every 10 s keeps the last hour in 360 points per series. */
export const SAMPLE_INTERVAL_MS = 10_000;
/** How often the feed-quality figures are recomputed. */
const QUALITY_REFRESH_MS = 5 * 60_000;
export const SERIES_POINTS = 360;

/** What the status page shows; every number is undefined when it is not known (yet). */
export interface StatusReading {
  sampledAt: number;
  ingestPerSecond: number | undefined;
  ingestLagSeconds: number | undefined;
  likes: number | undefined;
  dbBytes: number;
  walBytes: number;
  /** Why the primary's ingest is paused (`disk_guard`, `write_failed`), as this node knows it; undefined while it writes. */
  ingestPaused: string | undefined;
  /** Primary: the data volume's use (0-1), measured by the disk guard. */
  volumeUsedRatio: number | undefined;
  /** Loads of the like graph by where from: `snapshot`, or `database (<why not the snapshot>)`. */
  graphLoads: Record<string, number>;
  /** Replica: fresh restores of its copy by reason (`restored_past_damage`, `new_generation`...). */
  restores: Record<string, number> | undefined;
  /** Undefined unless the launcher runs this primary under Litestream. */
  litestream: { up: boolean; stalledSeconds: number | undefined; syncErrors: number } | undefined;
  /** Undefined on the primary and before a replica's first heartbeat. */
  replicaLagSeconds: number | undefined;
  preset: string | undefined;
  /** Cold start from follows; undefined when follows are off (FOLLOWS_APPVIEW_URL=off). */
  follows: FollowsReading | undefined;
  /** The like graph against its memory budget; undefined until the graph has loaded. */
  graph: GraphMemory | undefined;
  /** getFeedSkeleton over the last sample window. */
  requests: { perSecond: number | undefined; p50Seconds: number | undefined; p99Seconds: number | undefined };
  /** Every peer's own health, read at this sample. */
  machines: Machines;
  /** How users answered the pages this node served; undefined before the feed exists. */
  feedQuality: QualityRow[] | undefined;
}

export interface FollowsReading {
  /** AppView fetches by outcome (ok, timeout, http_error, ...). */
  fetches: Record<string, number>;
  cachedUsers: number;
  /** First pages ranked with the user's follows, out of all ranked afresh. */
  rankingsFromFollows: number;
  rankings: number;
}

export interface GraphMemory {
  bytes: number;
  budgetBytes: number;
  /** Live likes of the window the graph does not hold (the budget dropped them, or they are not read yet). */
  likesLeftOut: number | undefined;
  oldestLikeTimeS: number | undefined;
}

export type ChartName = 'ingestPerSecond' | 'ingestLagSeconds' | 'likes' | 'walBytes' | 'replicaLagSeconds';
const CHARTS: readonly ChartName[] = ['ingestPerSecond', 'ingestLagSeconds', 'likes', 'walBytes', 'replicaLagSeconds'];

/**
 * Reads the service's own metrics on a timer and keeps the last hour of the ones worth
 * a chart. `intervalMs: 0` never samples on its own: tests call `sample()`.
 */
export class StatusSampler {
  readonly series: Readonly<Record<ChartName, Series>>;
  private last: StatusReading | undefined;
  /** Counter readings at the previous sample, for rates. */
  private previous: { at: number; ingestEvents: number; requests: Buckets } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private quality: { at: number; rows: QualityRow[] | undefined } | undefined;
  private ingestPaused: () => string | undefined = () => undefined;

  constructor(
    private readonly ctx: AppContext,
    readonly intervalMs = SAMPLE_INTERVAL_MS,
    private readonly feedQuality: () => QualityRow[] | undefined = () => undefined,
  ) {
    this.series = Object.fromEntries(CHARTS.map((name) => [name, new Series(SERIES_POINTS)])) as Record<ChartName, Series>;
  }

  /**
   * Feed quality walks every served user's likes and reads their interactions: every
   * few minutes, not every sample, unless asked for afresh.
   */
  private qualityAt(now: number, fresh: boolean): QualityRow[] | undefined {
    if (fresh || !this.quality || now - this.quality.at >= QUALITY_REFRESH_MS) {
      this.quality = { at: now, rows: this.feedQuality() };
    }
    return this.quality.rows;
  }

  /** Where the role reads why ingest is paused: the primary's ingester, or a replica's copy. */
  readIngestPauseFrom(read: () => string | undefined): void {
    this.ingestPaused = read;
  }

  start(): void {
    if (this.intervalMs <= 0 || this.timer) return;
    const tick = () => void this.sample().catch((err: unknown) => this.ctx.log.warn({ err }, 'status sample failed'));
    tick();
    this.timer = setInterval(tick, this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The newest sample; undefined before the first. */
  reading(): StatusReading | undefined {
    return this.last;
  }

  async sample(now = this.ctx.clock(), options: { freshQuality?: boolean } = {}): Promise<StatusReading> {
    const { config, metrics } = this.ctx;
    const primary = config.role === 'primary';
    // The peers answer over the network (2 s at most): asked first, awaited last.
    const machines = readMachines(config);

    // 1. File sizes are read here, as the metrics route does at scrape time.
    const { dbBytes, walBytes } = fileSizes(config.dbPath);
    metrics.dbBytes.set(dbBytes);
    metrics.walBytes.set(walBytes);

    // 2. Counters become rates over the time since the previous sample.
    const ingestEvents = sum(await values(metrics.ingestEvents));
    const requests = await buckets(metrics.feedRequestSeconds);
    const before = this.previous;
    const seconds = before ? (now - before.at) / 1000 : 0;
    const grown = before ? bucketGrowth(before.requests, requests) : [];
    this.previous = { at: now, ingestEvents, requests };

    // 3. Gauges: one that was never set reads 0, so each is trusted only where it is set.
    const ingested = sum(await values(metrics.ingestBatches)) > 0;
    const replicaLag = primary ? undefined : await gauge(metrics.replicaLagSeconds);
    const reading: StatusReading = {
      sampledAt: now,
      ingestPerSecond: primary ? counterRate(before?.ingestEvents, ingestEvents, seconds) : undefined,
      ingestLagSeconds: primary && ingested ? await gauge(metrics.ingestLagSeconds) : undefined,
      likes: await gauge(primary ? metrics.likes : metrics.graphLikes),
      ingestPaused: this.ingestPaused(),
      volumeUsedRatio: primary && config.ingest.diskGuardPercent < 100 ? await gauge(metrics.dataVolumeUsedRatio) : undefined,
      graphLoads: countsBy(await values(metrics.graphLoads), (labels) => (labels.from === 'snapshot' ? 'snapshot' : `database (${labels.reason})`)),
      restores: primary ? undefined : countsBy(await values(metrics.replicaPolls), (labels) => (RESTORED_AFRESH.has(String(labels.outcome)) ? String(labels.outcome) : undefined)),
      dbBytes,
      walBytes,
      litestream: primary && config.litestreamMetricsUrl ? await this.litestream() : undefined,
      replicaLagSeconds: replicaLag === undefined || replicaLag < 0 ? undefined : replicaLag,
      preset: (await values(metrics.rankerPreset)).find((v) => v.value === 1)?.labels.preset?.toString(),
      follows: config.feed.follows.appviewUrl === undefined ? undefined : await this.follows(),
      graph: await this.graphMemory(),
      requests: {
        perSecond: counterRate(before?.requests.at(-1)?.count, requests.at(-1)?.count ?? 0, seconds),
        p50Seconds: bucketQuantile(0.5, grown),
        p99Seconds: bucketQuantile(0.99, grown),
      },
      machines: await machines,
      feedQuality: this.qualityAt(now, options.freshQuality ?? false),
    };
    for (const name of CHARTS) this.series[name].push(now, reading[name]);
    this.last = reading;
    return reading;
  }

  /** The points of one chart, oldest first. */
  points(name: ChartName): Point[] {
    return this.series[name].points();
  }

  private async graphMemory(): Promise<GraphMemory | undefined> {
    const { metrics } = this.ctx;
    if ((await gauge(metrics.graphReady)) !== 1) return undefined;
    const oldest = await gauge(metrics.graphOldestLikeTimeSeconds);
    return {
      bytes: (await gauge(metrics.graphBytes)) ?? 0,
      budgetBytes: (await gauge(metrics.graphMemoryBudgetBytes)) ?? 0,
      likesLeftOut: await gauge(metrics.graphLikesLeftOut),
      oldestLikeTimeS: oldest === 0 ? undefined : oldest,
    };
  }

  private async follows(): Promise<FollowsReading> {
    const { metrics } = this.ctx;
    const rankings = await values(metrics.feedRankings);
    return {
      fetches: countsBy(await values(metrics.followsFetches), (labels) => String(labels.outcome)),
      cachedUsers: (await gauge(metrics.followsCachedUsers)) ?? 0,
      rankingsFromFollows: sum(rankings.filter((v) => String(v.labels.source).endsWith('+follows'))),
      rankings: sum(rankings),
    };
  }

  private async litestream(): Promise<NonNullable<StatusReading['litestream']>> {
    const { metrics } = this.ctx;
    const up = (await gauge(metrics.litestreamUp)) === 1;
    return {
      up,
      stalledSeconds: up ? await gauge(metrics.litestreamReplicaStalledSeconds) : undefined,
      syncErrors: sum(await values(metrics.litestreamSyncErrors)),
    };
  }
}

/** A counter's non-zero values summed under the key `keyOf` gives each label set (undefined: left out). */
function countsBy(list: MetricValue<string>[], keyOf: (labels: MetricValue<string>['labels']) => string | undefined): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of list) {
    const key = keyOf(v.labels);
    if (key !== undefined && v.value > 0) counts[key] = (counts[key] ?? 0) + v.value;
  }
  return counts;
}

type Readable = { get(): Promise<{ values: MetricValue<string>[] }> };

async function values(metric: Readable): Promise<MetricValue<string>[]> {
  return (await metric.get()).values;
}

function sum(list: MetricValue<string>[]): number {
  return list.reduce((total, v) => total + v.value, 0);
}

/** An unlabelled gauge's value. */
async function gauge(metric: Gauge): Promise<number | undefined> {
  return (await values(metric))[0]?.value;
}

/** A histogram's cumulative buckets, summed over its label sets. */
async function buckets(metric: Histogram): Promise<Buckets> {
  const byBound = new Map<number, number>();
  for (const v of (await metric.get()).values) {
    if (!v.metricName?.endsWith('_bucket')) continue;
    const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le);
    byBound.set(le, (byBound.get(le) ?? 0) + v.value);
  }
  return [...byBound].sort(([a], [b]) => a - b).map(([le, count]) => ({ le, count }));
}
