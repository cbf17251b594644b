import type { Config } from '../config/config.js';
import type { OutcomeCounts } from './writer/event-writer.js';
import type { StoredCursor } from '../store/meta.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { CursorTracker } from './cursor-tracker.js';
import type { EventSource, FrameSubscriber } from './event-source.js';
import { type FollowEvent, type IngestEvent, WANTED_COLLECTIONS } from './events.js';
import { JetstreamClient } from './jetstream-client.js';
import { parseFrame } from './parse.js';

/** Retry delays after a failed write (full disk, I/O error): capped; the batch is kept. */
const WRITE_RETRY_MIN_MS = 100;
const WRITE_RETRY_MAX_MS = 10_000;
/** Reading pauses when this many batches' worth of events wait for the writer. */
const MAX_BUFFERED_BATCHES = 2;
/** The lag metric is recomputed this often, so it grows while nothing commits (paused, disconnected). */
const LAG_REPORT_MS = 1000;

/** Why ingest is not writing: the disk guard holds it, or writes fail and are retried. */
export type IngestPauseReason = 'disk_guard' | 'write_failed';

/** Where follow events go (the follows cache): `applied` when they changed a cached user's follows. */
export interface FollowSink {
  applyFollow(event: FollowEvent): 'applied' | 'ignored';
}

/** Where batches go: the writer thread, or an EventWriter in tests. */
export interface BatchSink {
  writeBatch(events: IngestEvent[], cursor: StoredCursor): Promise<OutcomeCounts>;
  liveLikeCount(): number;
}

export interface IngesterDeps {
  config: Config['ingest'];
  sink: BatchSink;
  /** The cursor committed by the last run. */
  storedCursor: StoredCursor;
  metrics: Metrics;
  log: Logger;
  /** Where frames come from: in production `jetstreamSource(config, log)`, picked by the context. */
  source: EventSource;
  /** Follow events, applied as they are read; without it they are counted as ignored. */
  follows?: FollowSink;
  /** Told when ingest pauses (with why) and when it goes on (undefined). */
  onPauseChange?: (reason: IngestPauseReason | undefined) => void;
}

/**
 * Jetstream (an EventSource) → parse → batch → writer, one transaction per batch
 * with the cursor in it. Batches close by size or by age, so a quiet stream still
 * commits within `batchMaxWaitMs`. One batch is written while the next one fills,
 * on two cores.
 */
export class Ingester {
  private readonly source: EventSource;
  private readonly tracker: CursorTracker;
  private batch: IngestEvent[] = [];
  /** Frames observed since the last commit (events, or ignored frames that still move the cursor). */
  private uncommittedFrames = 0;
  /** Rejected and ignored frames, by "kind|outcome" and by reason, until reported. */
  private readonly frameCounts = new Map<string, number>();
  private readonly rejectionCounts = new Map<string, number>();
  private flushTimer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private writeFailures = 0;
  /** Set while the disk guard holds ingest: nothing is written, reading is paused. */
  private held = false;
  private reportedPause: IngestPauseReason | undefined;
  private stopped = false;
  /** time_us of the newest event read as of the last commit (the batch after it may be partly read). */
  private committedTimeUs: number | undefined;
  private lagTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: IngesterDeps) {
    const { config, metrics, storedCursor } = deps;
    this.tracker = new CursorTracker(storedCursor, config.rewindSeconds * 1e6);
    this.source = deps.source;
    if (storedCursor.timeUs !== undefined) metrics.ingestCursorTimeUs.set(storedCursor.timeUs);
    this.committedTimeUs = storedCursor.timeUs;
  }

  start(): void {
    this.source.start(this.subscriber());
    this.reportLag();
    this.lagTimer = setInterval(() => this.reportLag(), LAG_REPORT_MS);
  }

  /** Stops reading and commits everything read; what cannot be committed is re-read from the cursor next time. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.lagTimer);
    await this.source.stop();
    clearTimeout(this.flushTimer);
    while (this.inFlight || (this.uncommittedFrames > 0 && this.writeFailures === 0 && !this.held)) {
      if (!this.inFlight) this.flush();
      await this.inFlight;
    }
    clearTimeout(this.flushTimer);
  }

  /** Why ingest is paused now, or undefined while it writes. */
  pauseReason(): IngestPauseReason | undefined {
    if (this.held) return 'disk_guard';
    return this.writeFailures > 0 ? 'write_failed' : undefined;
  }

  /**
   * Holds ingest (true) or lets it go on (false): while held, reading pauses and nothing
   * is written; what was read stays in the batch, and the cursor does not move past it.
   */
  hold(held: boolean): void {
    if (held === this.held) return;
    this.held = held;
    if (held) {
      this.source.pause();
    } else if (!this.stopped) {
      // A retry of a failed write was held too: it goes now, and reading resumes once it succeeds.
      if (this.writeFailures === 0) this.source.resume();
      this.flush();
    }
    this.reportPause();
  }

  private reportPause(): void {
    const reason = this.pauseReason();
    this.deps.metrics.ingestPaused.set(reason === undefined ? 0 : 1);
    if (reason === this.reportedPause) return;
    if (reason !== undefined) this.deps.metrics.ingestPauses.inc({ reason });
    this.reportedPause = reason;
    this.deps.onPauseChange?.(reason);
  }

  private subscriber(): FrameSubscriber {
    const { metrics } = this.deps;
    return {
      cursorFor: (url) => this.tracker.resumeCursor(url),
      onFrame: (data, isBinary, url) => this.onFrame(data, isBinary, url),
      onConnect: (url) => {
        this.tracker.startConnection();
        metrics.jetstreamConnections.inc({ host: new URL(url).host });
        metrics.jetstreamConnected.set(1);
      },
      onDisconnect: () => {
        metrics.jetstreamConnected.set(0);
        this.flush();
      },
    };
  }

  private onFrame(data: Buffer, isBinary: boolean, url: string): void {
    const result = parseFrame(data, isBinary, this.deps.config.maxFrameBytes);
    if (result.outcome === 'rejected') {
      increment(this.frameCounts, `${result.kind}|rejected`);
      increment(this.rejectionCounts, result.reason);
      return;
    }
    this.tracker.observe(result.position, url);
    this.uncommittedFrames++;
    if (result.outcome === 'ignored') increment(this.frameCounts, `${result.kind}|ignored`);
    // Follows are not stored: they update the cache now and, like ignored frames, only move the cursor.
    else if (result.outcome === 'follow') increment(this.frameCounts, `${result.event.type}|${this.deps.follows?.applyFollow(result.event) ?? 'ignored'}`);
    else this.batch.push(result.event);

    const { batchMaxEvents, batchMaxWaitMs } = this.deps.config;
    if (this.batch.length >= batchMaxEvents) {
      this.flush();
      // The writer is behind: let TCP flow control hold the host back.
      if (this.batch.length >= batchMaxEvents * MAX_BUFFERED_BATCHES) this.source.pause();
    } else if (!this.flushTimer && !this.inFlight) {
      this.flushTimer = setTimeout(() => this.flush(), batchMaxWaitMs);
    }
  }

  /** Hands the batch to the writer, unless a write is already in flight (its completion flushes again). */
  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.inFlight || this.held) return;
    if (this.uncommittedFrames === 0) return this.reportFrameCounts();

    const events = this.batch;
    const frames = this.uncommittedFrames;
    const cursor = this.tracker.snapshot();
    this.batch = [];
    this.uncommittedFrames = 0;
    this.inFlight = this.deps.sink.writeBatch(events, cursor).then(
      (counts) => this.onWritten(counts, cursor),
      (err: unknown) => {
        // Put the events back in front: the cursor did not move, so a retry covers them all.
        this.batch = events.concat(this.batch);
        this.uncommittedFrames += frames;
        this.onWriteFailure(err);
      },
    );
    void this.inFlight
      .catch((err: unknown) => this.deps.log.error({ err }, 'ingest bookkeeping failed'))
      .finally(() => {
        this.inFlight = undefined;
        this.afterWrite();
      });
  }

  private afterWrite(): void {
    if (this.writeFailures > 0 || this.held || this.uncommittedFrames === 0) return;
    if (this.batch.length >= this.deps.config.batchMaxEvents || this.stopped) this.flush();
    else if (!this.flushTimer) this.flushTimer = setTimeout(() => this.flush(), this.deps.config.batchMaxWaitMs);
  }

  private onWritten(counts: OutcomeCounts, cursor: StoredCursor): void {
    const { metrics, log, sink } = this.deps;
    if (this.writeFailures > 0) {
      log.info({ failures: this.writeFailures }, 'ingest writes recovered, resuming');
      this.writeFailures = 0;
      this.reportPause();
    }
    if (!this.stopped && !this.held) this.source.resume();
    for (const [type, outcomes] of Object.entries(counts)) {
      for (const [outcome, n] of Object.entries(outcomes)) if (n > 0) metrics.ingestEvents.inc({ kind: type, outcome }, n);
    }
    this.reportFrameCounts();
    metrics.ingestBatches.inc();
    metrics.likes.set(sink.liveLikeCount());
    if (cursor.timeUs !== undefined) metrics.ingestCursorTimeUs.set(cursor.timeUs);
    this.committedTimeUs = this.tracker.latestTimeUs() ?? this.committedTimeUs;
    this.reportLag();
  }

  private reportLag(): void {
    if (this.committedTimeUs !== undefined) this.deps.metrics.ingestLagSeconds.set(Math.max(0, Date.now() / 1000 - this.committedTimeUs / 1e6));
  }

  /** Reading pauses and the write is retried with backoff; nothing is lost, the cursor did not move. */
  private onWriteFailure(err: unknown): void {
    const { metrics, log } = this.deps;
    this.writeFailures++;
    metrics.ingestWriteErrors.inc();
    this.reportPause();
    this.source.pause();
    const delayMs = Math.min(WRITE_RETRY_MAX_MS, WRITE_RETRY_MIN_MS * 2 ** Math.min(this.writeFailures - 1, 20));
    log.error({ err, failures: this.writeFailures, retryInMs: delayMs, batch: this.batch.length }, 'ingest write failed, paused');
    if (this.stopped) return;
    clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => this.flush(), delayMs);
  }

  private reportFrameCounts(): void {
    const { metrics } = this.deps;
    for (const [key, n] of this.frameCounts) {
      const [kind, outcome] = key.split('|') as [string, string];
      metrics.ingestEvents.inc({ kind, outcome }, n);
    }
    for (const [reason, n] of this.rejectionCounts) metrics.ingestRejections.inc({ reason }, n);
    this.frameCounts.clear();
    this.rejectionCounts.clear();
  }
}

/** The production source: Jetstream's hosts in fail-over order, for the collections ingest keeps. */
export function jetstreamSource(config: Config['ingest'], log: Logger): JetstreamClient {
  return new JetstreamClient({
    urls: config.jetstreamUrls,
    wantedCollections: WANTED_COLLECTIONS,
    reconnectMinMs: config.reconnectMinMs,
    reconnectMaxMs: config.reconnectMaxMs,
    stallTimeoutMs: config.stallTimeoutMs,
    // The parser rejects oversized frames with a count; this cap only bounds memory.
    maxPayloadBytes: Math.max(config.maxFrameBytes * 4, 16 * 1024 * 1024),
    log,
  });
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
