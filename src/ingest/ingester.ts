import type { Config } from '../config/config.js';
import type { EventWriter, OutcomeCounts } from '../db/event-writer.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { CursorTracker } from './cursor-tracker.js';
import { type IngestEvent, WANTED_COLLECTIONS } from './events.js';
import { JetstreamClient } from './jetstream-client.js';
import { parseFrame } from './parse.js';

/** Retry delays after a failed write (full disk, I/O error): capped, the batch is kept. */
const WRITE_RETRY_MIN_MS = 100;
const WRITE_RETRY_MAX_MS = 10_000;
/** Frames a batch may hold beyond its size while waiting for the writer's pause. */
const BATCH_OVERFLOW_FACTOR = 2;

export interface IngesterDeps {
  config: Config['ingest'];
  writer: EventWriter;
  metrics: Metrics;
  log: Logger;
}

/**
 * Jetstream → parse → batch → one transaction per batch, with the cursor in it.
 * Batches close by size or by age, so a quiet stream still commits within
 * `batchMaxWaitMs`. Between transactions the write lock is left free for
 * `writerPauseMs`, so Litestream's checkpoints are never starved.
 */
export class Ingester {
  private readonly client: JetstreamClient;
  private readonly tracker: CursorTracker;
  private batch: IngestEvent[] = [];
  /** Frames observed since the last commit (events, or ignored frames that still move the cursor). */
  private uncommittedFrames = 0;
  /** Rejected and ignored frames since the last commit, by "kind|outcome" or reason. */
  private frameCounts = new Map<string, number>();
  private rejectionCounts = new Map<string, number>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushAt = 0;
  private lastCommitEndMs = 0;
  private writeFailures = 0;
  private stopped = false;

  constructor(private readonly deps: IngesterDeps) {
    const { config, writer, log } = deps;
    this.tracker = new CursorTracker(writer.cursor(), config.rewindSeconds * 1e6);
    this.client = new JetstreamClient({
      urls: config.jetstreamUrls,
      wantedCollections: WANTED_COLLECTIONS,
      cursorFor: (url) => this.tracker.resumeCursor(url),
      reconnectMinMs: config.reconnectMinMs,
      reconnectMaxMs: config.reconnectMaxMs,
      stallTimeoutMs: config.stallTimeoutMs,
      // The parser rejects oversized frames with a count; this cap only bounds memory.
      maxPayloadBytes: Math.max(config.maxFrameBytes * 4, 16 * 1024 * 1024),
      onFrame: (data, isBinary, url) => this.onFrame(data, isBinary, url),
      onConnect: (url) => {
        this.tracker.startConnection();
        deps.metrics.jetstreamConnections.inc({ host: new URL(url).host });
        deps.metrics.jetstreamConnected.set(1);
      },
      onDisconnect: () => {
        deps.metrics.jetstreamConnected.set(0);
        this.flush();
      },
      log,
    });
    const cursor = writer.cursor().timeUs;
    if (cursor !== undefined) deps.metrics.ingestCursorTimeUs.set(cursor);
  }

  start(): void {
    this.client.start();
  }

  /** Stops reading, commits what was read, and leaves the writer idle. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.client.stop();
    this.flush();
    clearTimeout(this.flushTimer);
  }

  /** Events handed to the writer so far; for tests and progress reports. */
  pendingEvents(): number {
    return this.batch.length;
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
    else this.batch.push(result.event);

    const { batchMaxEvents, batchMaxWaitMs } = this.deps.config;
    if (this.batch.length >= batchMaxEvents) {
      this.requestFlush(0);
      if (this.batch.length >= batchMaxEvents * BATCH_OVERFLOW_FACTOR) this.client.pause();
    } else if (!this.flushTimer) {
      this.requestFlush(batchMaxWaitMs);
    }
  }

  /** Schedules a flush in `delayMs`, but never sooner than the writer's pause allows. */
  private requestFlush(delayMs: number): void {
    const now = Date.now();
    const at = Math.max(now + delayMs, this.lastCommitEndMs + this.deps.config.writerPauseMs);
    if (this.flushTimer && this.flushAt <= at) return;
    clearTimeout(this.flushTimer);
    this.flushAt = at;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, at - now);
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.uncommittedFrames === 0) {
      this.reportFrameCounts();
      return;
    }
    const { writer, metrics, log } = this.deps;
    const cursor = this.tracker.snapshot();
    let counts: OutcomeCounts;
    try {
      counts = writer.writeBatch(this.batch, cursor);
    } catch (err) {
      this.onWriteFailure(err);
      return;
    }
    this.lastCommitEndMs = Date.now();
    this.batch = [];
    this.uncommittedFrames = 0;
    if (this.writeFailures > 0) {
      log.info({ failures: this.writeFailures }, 'ingest writes recovered, resuming');
      this.writeFailures = 0;
      metrics.ingestPaused.set(0);
    }
    if (!this.stopped) this.client.resume();

    for (const [type, outcomes] of Object.entries(counts)) {
      for (const [outcome, n] of Object.entries(outcomes)) if (n > 0) metrics.ingestEvents.inc({ kind: type, outcome }, n);
    }
    this.reportFrameCounts();
    metrics.ingestBatches.inc();
    metrics.likes.set(writer.liveLikeCount());
    if (cursor.timeUs !== undefined) metrics.ingestCursorTimeUs.set(cursor.timeUs);
    const latest = this.tracker.latestTimeUs();
    if (latest !== undefined) metrics.ingestLagSeconds.set(Math.max(0, Date.now() / 1000 - latest / 1e6));
  }

  /** The batch stays in memory and reading pauses; the cursor did not move, so nothing is lost. */
  private onWriteFailure(err: unknown): void {
    const { metrics, log } = this.deps;
    this.writeFailures++;
    metrics.ingestWriteErrors.inc();
    metrics.ingestPaused.set(1);
    this.client.pause();
    const delayMs = Math.min(WRITE_RETRY_MAX_MS, WRITE_RETRY_MIN_MS * 2 ** Math.min(this.writeFailures - 1, 20));
    log.error({ err, failures: this.writeFailures, retryInMs: delayMs, batch: this.batch.length }, 'ingest write failed, paused');
    if (!this.stopped) this.requestFlush(delayMs);
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

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
