import type { Counter } from 'prom-client';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { ReplicaLayout } from '../bucket/layout.js';
import type { ObjectStore } from '../bucket/object-store.js';
import type { GenerationWatch } from './generation-watch.js';
import type { LocalCopy } from './local-copy.js';
import { PollCadence } from './poll-cadence.js';
import { failureReason, type PollOutcome, pollOutcomeCounter, RESTORED_AFRESH } from './poll-outcome.js';
import { applySegment, fetchAcrossIndex, fetchSegment, indexMayHaveEnded, type Segment } from './wal-segments.js';

export interface PollLoopParts {
  store: ObjectStore;
  layout: ReplicaLayout;
  log: Logger;
  metrics: Metrics;
  copy: LocalCopy;
  watch: GenerationWatch;
  pollMs: number;
  minCheckpointPages: number;
  /** Polls in a row that find the same segment damaged before the copy is restored afresh. */
  damagedSegmentPolls?: number;
  /** Replaces the copy by a fresh restore of the newest generation, and tells whoever serves it. */
  restoreAfresh(): Promise<void>;
}

/** How often the primary's writer updates the heartbeat row. */
const HEARTBEAT_PERIOD_MS = 1000;
/**
 * A torn upload reads whole on a later poll; Litestream never rewrites a segment, so one
 * still damaged after this many polls never will be, and only a restore gets past it.
 */
const DAMAGED_SEGMENT_POLLS = 30;

/**
 * Polls the bucket, one poll at a time, on the cadence of PollCadence. A poll fetches
 * the next segment of the current WAL index by its predictable key (a GET, a tenth of a
 * LIST's price), or the first of the next index, and applies it. Each poll is counted by
 * its outcome; the failed ones are logged and counted as follow errors too.
 */
export interface LastRestore {
  reason: PollOutcome;
  atMs: number;
}

export class PollLoop {
  private everCaughtUp = false;
  private newestRestore: LastRestore | undefined;
  /** Polls in a row that found nothing: the next index is probed from the second on. */
  private misses = 0;
  /** Polls in a row that found the next segment damaged (nothing moves the position meanwhile). */
  private damagedPolls = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The tick under way, for stop() to wait on. */
  private running: Promise<void> | undefined;
  private cadence: PollCadence;
  private readonly outcomes: Counter<'outcome'>;

  constructor(private readonly parts: PollLoopParts) {
    this.cadence = new PollCadence(parts.pollMs);
    this.outcomes = pollOutcomeCounter(parts.metrics);
  }

  /** True once a poll found nothing new, that is, the copy held all the bucket did. */
  caughtUp(): boolean {
    return this.everCaughtUp;
  }

  /** The newest poll that restored the copy afresh: why, and when (ms since the epoch). */
  lastRestore(): LastRestore | undefined {
    return this.newestRestore;
  }

  start(): void {
    this.tick();
  }

  /** No further poll; resolves once the one under way (a restore, perhaps) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private tick(): void {
    if (this.stopped) return;
    this.running = this.countedPoll().then((outcome) => {
      if (this.stopped || outcome === undefined) return;
      this.timer = setTimeout(() => this.tick(), this.delayAfter(outcome));
    });
  }

  private async countedPoll(): Promise<PollOutcome | undefined> {
    const { log, metrics, store, copy } = this.parts;
    let outcome: PollOutcome | undefined;
    try {
      outcome = (await this.restoreIfDamagedTooLong()) ?? (await this.poll());
    } catch (err) {
      outcome = failureReason(err);
      metrics.replicaFollowErrors.inc();
      // A damaged segment fails here, counted and logged, until it reads whole or the bound.
      if (outcome === 'segment_damaged') log.warn({ err, position: copy.position, polls: this.damagedPolls + 1 }, 'follower: segment unreadable, retrying');
      else log.error({ err, outcome }, 'follower: step failed');
    }
    this.damagedPolls = outcome === 'segment_damaged' ? this.damagedPolls + 1 : 0;
    if (outcome === undefined) return undefined;
    this.outcomes.inc({ outcome });
    if (RESTORED_AFRESH.has(outcome)) this.newestRestore = { reason: outcome, atMs: Date.now() };
    metrics.replicaLagSeconds.set(copy.lagSeconds() ?? -1);
    metrics.replicaStoreRequests.set({ class: 'GET' }, store.requests.GET);
    metrics.replicaStoreRequests.set({ class: 'LIST' }, store.requests.LIST);
    return outcome;
  }

  private delayAfter(outcome: PollOutcome): number {
    switch (outcome) {
      case 'applied':
      case 'file_missing':
      case 'new_generation':
      case 'retention_gap': {
        // Right after the newest segment, the copy's heartbeat is at most about a second
        // old (it is written every second) plus the upload's delay. Older than a period
        // more: the next segment is most likely there already, fetch it at once (else
        // the copy stays a segment behind for good). Likewise until the first miss.
        const lagMs = (this.parts.copy.lagSeconds() ?? Infinity) * 1000;
        return this.cadence.afterHit(!this.everCaughtUp || lagMs > this.parts.pollMs + HEARTBEAT_PERIOD_MS);
      }
      case 'restored_past_damage':
        return this.cadence.afterHit(true);
      case 'nothing_new':
      case 'segment_damaged':
        return this.cadence.afterMiss();
      default:
        return this.parts.pollMs;
    }
  }

  /** Past the bound, the copy is restored from the newest snapshot instead of polled. */
  private async restoreIfDamagedTooLong(): Promise<PollOutcome | undefined> {
    if (this.damagedPolls < (this.parts.damagedSegmentPolls ?? DAMAGED_SEGMENT_POLLS)) return undefined;
    this.parts.log.error({ position: this.parts.copy.position, polls: this.damagedPolls }, 'follower: a segment stayed damaged; restoring afresh from the newest snapshot');
    await this.parts.restoreAfresh();
    return 'restored_past_damage';
  }

  /** One poll; undefined when the loop was stopped meanwhile (nothing applied). */
  private async poll(): Promise<PollOutcome | undefined> {
    const { copy, log, metrics, watch } = this.parts;
    const here = copy.state.position;
    if (!copy.exists()) {
      // The file was deleted under us (a wiped volume): nothing to apply segments to.
      log.warn({ position: here }, 'follower: the database file is gone; restoring afresh');
      await this.parts.restoreAfresh();
      return 'file_missing';
    }
    const segment = await this.nextSegment();
    if (this.stopped) return undefined; // the database may be closed by now
    if (!segment) {
      this.everCaughtUp = true;
      const change = await watch.check(here);
      if (!change) return 'nothing_new';
      if (change.reason === 'new_generation') log.info({ from: here.generation, to: change.generation }, 'follower: new generation, restoring it');
      else log.warn({ position: here }, 'follower: segments it needs are gone (retention); restoring afresh');
      await this.parts.restoreAfresh();
      return change.reason;
    }
    applySegment(copy, segment, metrics);
    watch.progressed();
    this.misses = 0;
    return 'applied';
  }

  private async nextSegment(): Promise<Segment | undefined> {
    const { store, layout, copy, minCheckpointPages } = this.parts;
    const segment = await fetchSegment(store, layout, copy.state.position, copy.state);
    if (segment) return segment;
    this.misses += 1;
    // The index may have ended (the primary's WAL restarted): its next starts at offset 0.
    if (this.misses >= 2 || indexMayHaveEnded(copy.state, minCheckpointPages)) return fetchAcrossIndex(store, layout, copy.state);
    return undefined;
  }
}
