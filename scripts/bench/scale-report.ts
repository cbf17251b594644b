/**
 * bench:scale's tables: one row per simulated day as measured, then the growth model's
 * projection to the real stream's 7-, 30- and 90-day windows, with the machine and the
 * bucket each window needs. Bucket bytes and prices are Tigris's list prices (storage
 * $0.02 per GB-month); request counts are bench:restore's and bench:replica's business.
 */
import type { BucketBytes } from './scale-sample.js';
import type { LoadResult } from './feed-load.js';
import { fitLine, PROJECTED_DAYS, project, REAL_LIKES_PER_DAY } from './scale-model.js';

const GB = 1e9;
const STORAGE_USD_PER_GB_MONTH = 0.02;
/** Litestream's retention as shipped (LITESTREAM_RETENTION), and the snapshot intervals compared. */
const RETENTION_H = 72;
const SNAPSHOT_INTERVALS_H = [1, 24] as const;
/** Room on the volume beyond the database: the WAL and Litestream's shadow WAL between checkpoints. */
const VOLUME_HEADROOM = 1.25;

export interface DaySample {
  day: number;
  /** Like creates sent so far, and today. */
  likesSent: number;
  likesSentToday: number;
  eventsTotal: number;
  eventsToday: number;
  ingestEventsPerS: number;
  /** Live likes in the database, and in the like graph. */
  likes: number;
  graphLikes: number;
  graphBytes: number;
  dbBytes: number;
  /** WAL bytes an event in the day's last events, replayed at the real stream's rate (live batches). */
  liveWalBytesPerEvent: number;
  /** WAL Litestream read today (before compression), in how many segments. */
  walBytesToday: number;
  walSegmentsToday: number;
  /** The bucket's objects so far (compressed). */
  bucket: BucketBytes;
  requestsToday: { PUT: number; GET: number; LIST: number };
  serviceRssBytes: number;
  litestreamRssBytes: number;
  prunedRows: number;
  feed: Array<{ rate: number } & LoadResult>;
  startupS: number;
  restoreS: number;
  replicaPeakRssMb: number;
}

export interface ScaleContext {
  likesPerDay: number;
  /** Events (likes, posts, reposts, deletes) per like create in the stream played. */
  eventsPerLike: number;
  /** Size of a snapshot of the final database, when one was taken; else the WAL's compression is assumed. */
  snapshotBytes?: number;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
const gb = (bytes: number) => (bytes / GB).toFixed(1);
const perLike = (bytes: number, likes: number) => (likes > 0 ? bytes / likes : 0);
const p99At = (s: DaySample, rate: number) => s.feed.find((f) => f.rate === rate);

export function printDays(samples: DaySample[], options: { likesPerDay: number; rates: number[] }): void {
  console.log('');
  console.log(`bench:scale, ${options.likesPerDay.toLocaleString()} likes a simulated day (the real stream: ${REAL_LIKES_PER_DAY.toLocaleString()})`);
  const feedHeads = options.rates.map((r) => `p50/p99 ms @${r}`).join(' | ');
  console.log(`day | likes held | ingest ev/s | DB B/like | WAL B/event (all/live) | bucket MB (snap+WAL) | PUT/GET/LIST | graph B/like | RSS MB (svc/ls) | start s | replica s (MB) | ${feedHeads}`);
  for (const s of samples) {
    const feed = options.rates.map((rate) => {
      const f = p99At(s, rate);
      return f ? `${f.p50Ms}/${f.p99Ms}${f.non2xx + f.errors > 0 ? ` (${f.non2xx + f.errors} failed)` : ''}` : '-';
    });
    console.log(
      [
        s.day,
        s.likes.toLocaleString(),
        Math.round(s.ingestEventsPerS).toLocaleString(),
        perLike(s.dbBytes, s.likes).toFixed(1),
        `${(s.walBytesToday / Math.max(s.eventsToday, 1)).toFixed(0)}/${s.liveWalBytesPerEvent.toFixed(0)}`,
        `${mb(s.bucket.snapshots + s.bucket.wal)} (${mb(s.bucket.snapshots)}+${mb(s.bucket.wal)})`,
        `${s.requestsToday.PUT}/${s.requestsToday.GET}/${s.requestsToday.LIST}`,
        perLike(s.graphBytes, s.graphLikes).toFixed(1),
        `${mb(s.serviceRssBytes)}/${mb(s.litestreamRssBytes)}`,
        s.startupS.toFixed(1),
        `${s.restoreS.toFixed(1)} (${s.replicaPeakRssMb.toFixed(0)})`,
        ...feed,
      ].join(' | '),
    );
  }
}

/** The fitted projections and the closing JSON figures. */
export function scaleFigures(samples: DaySample[], context: ScaleContext) {
  const likes = samples.map((s) => s.likes);
  const fit = (values: number[]) => fitLine(likes, values);
  const fits = {
    dbBytes: fit(samples.map((s) => s.dbBytes)),
    graphBytes: fitLine(samples.map((s) => s.graphLikes), samples.map((s) => s.graphBytes)),
    serviceRss: fit(samples.map((s) => s.serviceRssBytes)),
    startupS: fit(samples.map((s) => s.startupS)),
    restoreS: fit(samples.map((s) => s.restoreS)),
  };
  const last = samples.at(-1)!;
  const totalWal = samples.reduce((n, s) => n + s.walBytesToday, 0);
  // The bucket's WAL objects are LZ4-compressed; a snapshot compresses like the pages in them.
  const walCompressedPerEvent = last.bucket.wal / Math.max(last.eventsTotal, 1);
  const compression = context.snapshotBytes ? context.snapshotBytes / last.dbBytes : last.bucket.wal / Math.max(totalWal, 1);
  const realEventsPerDay = REAL_LIKES_PER_DAY * context.eventsPerLike;
  const walPerRealDay = walCompressedPerEvent * realEventsPerDay;

  const windows = PROJECTED_DAYS.map((days) => {
    const windowLikes = days * REAL_LIKES_PER_DAY;
    const dbBytes = project(fits.dbBytes, windowLikes);
    const snapshotBytes = dbBytes * compression;
    const bucket = SNAPSHOT_INTERVALS_H.map((intervalH) => {
      // Stored: the WAL of the retention, and every snapshot within it plus the one before.
      const storedBytes = walPerRealDay * (RETENTION_H / 24) + snapshotBytes * (Math.floor(RETENTION_H / intervalH) + 1);
      return { intervalH, storedBytes, uploadedPerDay: walPerRealDay + snapshotBytes * (24 / intervalH), usdPerMonth: (storedBytes / GB) * STORAGE_USD_PER_GB_MONTH };
    });
    return {
      days,
      likes: windowLikes,
      dbBytes,
      volumeBytes: dbBytes * VOLUME_HEADROOM,
      graphBytes: project(fits.graphBytes, windowLikes),
      serviceRssBytes: project(fits.serviceRss, windowLikes),
      startupS: project(fits.startupS, windowLikes),
      restoreS: project(fits.restoreS, windowLikes),
      bucket,
    };
  });

  return {
    likes: last.likes,
    days_simulated: samples.length,
    likes_per_simulated_day: context.likesPerDay,
    events_per_like: Number(context.eventsPerLike.toFixed(3)),
    graph_bytes_per_like: Number(perLike(last.graphBytes, last.graphLikes).toFixed(1)),
    db_bytes_per_like: Number(perLike(last.dbBytes, last.likes).toFixed(1)),
    // At the real stream's rate: batches are small, so pages are rewritten more often than in bulk.
    wal_bytes_per_event: Number(last.liveWalBytesPerEvent.toFixed(0)),
    wal_bytes_per_event_bulk: Number((last.walBytesToday / Math.max(last.eventsToday, 1)).toFixed(0)),
    wal_compressed_bytes_per_event: Number(walCompressedPerEvent.toFixed(0)),
    rss_mb: Number((last.serviceRssBytes / 1e6).toFixed(0)),
    litestream_rss_mb: Number((last.litestreamRssBytes / 1e6).toFixed(0)),
    startup_s: Number(last.startupS.toFixed(1)),
    replica_ready_s: Number(last.restoreS.toFixed(1)),
    replica_peak_rss_mb: Number(last.replicaPeakRssMb.toFixed(0)),
    p50_ms_25rps: p99At(last, 25)?.p50Ms,
    p99_ms_25rps: p99At(last, 25)?.p99Ms,
    p99_ms_200rps: p99At(last, 200)?.p99Ms,
    bucket_wal_bytes_per_day: Math.round(walPerRealDay),
    snapshot_bytes: context.snapshotBytes,
    bucket_bytes_per_day: Math.round(windows.at(-1)!.bucket[0]!.uploadedPerDay),
    fits: Object.fromEntries(Object.entries(fits).map(([name, f]) => [name, { a: Number(f.a.toPrecision(4)), b_per_like: Number(f.b.toPrecision(4)) }])),
    projection: windows.map((w) => ({
      days: w.days,
      likes: w.likes,
      db_gb: Number(gb(w.dbBytes)),
      volume_gb: Number(gb(w.volumeBytes)),
      graph_gb: Number(gb(w.graphBytes)),
      rss_gb: Number(gb(w.serviceRssBytes)),
      startup_s: Math.round(w.startupS),
      replica_ready_s: Math.round(w.restoreS),
      bucket: w.bucket.map((b) => ({ snapshot_interval_h: b.intervalH, stored_gb: Number(gb(b.storedBytes)), uploaded_gb_per_day: Number(gb(b.uploadedPerDay)), usd_per_month: Number(b.usdPerMonth.toFixed(2)) })),
    })),
  };
}

export function printProjection(samples: DaySample[], figures: ReturnType<typeof scaleFigures>): void {
  console.log('');
  console.log(`projected to the real stream (${REAL_LIKES_PER_DAY.toLocaleString()} likes a day, ${figures.events_per_like} events a like), fitted on ${samples.length} days as a + b · likes:`);
  console.log(`  ${Object.entries(figures.fits).map(([name, f]) => `${name}: a ${f.a}, b ${f.b_per_like}`).join('; ')}`);
  const bucketHeads = SNAPSHOT_INTERVALS_H.map((h) => `bucket GB, $/month (snapshot ${h} h)`).join(' | ');
  // Latency is not projected: the ranker's caps (seeds, co-likers, likes per co-liker) bound a request's work whatever the window.
  console.log(`window | likes | DB GB | volume GB | graph GB (whole window) | service RSS GB | start-up s | replica ready s | ${bucketHeads}`);
  for (const w of figures.projection) {
    console.log(
      [
        `${w.days} d`,
        `${(w.likes / 1e9).toFixed(2)} B`,
        w.db_gb,
        w.volume_gb,
        w.graph_gb,
        w.rss_gb,
        w.startup_s,
        w.replica_ready_s,
        ...w.bucket.map((b) => `${b.stored_gb}, $${b.usd_per_month}`),
      ].join(' | '),
    );
  }
  console.log(`  bucket: WAL ${(figures.bucket_wal_bytes_per_day / GB).toFixed(1)} GB a day compressed (${figures.wal_compressed_bytes_per_event} B an event), kept ${RETENTION_H} h; a snapshot is the whole database, compressed`);
}
