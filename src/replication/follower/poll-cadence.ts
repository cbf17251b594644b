/**
 * When to poll the bucket next. The primary uploads once per sync interval, at a steady
 * phase; a poll that lands just after an upload adds almost no lag, one just before it
 * adds a whole period. So: after a hit, wait a period, and every few hits come a step
 * earlier; the first miss this causes is retried a step later, right after the upload.
 * The phase settles within a step of the uploads, at about one miss per few hits.
 */
export class PollCadence {
  private hitsInARow = 0;
  private missesInARow = 0;

  constructor(
    private readonly periodMs: number,
    private readonly stepMs = Math.max(25, Math.round(periodMs * 0.15)),
  ) {}

  /** After a poll that applied a segment; `backlog`: more is surely waiting. */
  afterHit(backlog: boolean): number {
    this.missesInARow = 0;
    if (backlog) return 0;
    this.hitsInARow += 1;
    return this.hitsInARow % HITS_BEFORE_EARLIER === 0 ? this.periodMs - this.stepMs : this.periodMs;
  }

  /** After a poll that found nothing new. */
  afterMiss(): number {
    this.hitsInARow = 0;
    this.missesInARow += 1;
    // The upload is due: look again a step later, a few times; then it is a quiet or
    // absent primary, polled once a period.
    return this.missesInARow <= RETRIES ? this.stepMs : this.periodMs;
  }
}

const HITS_BEFORE_EARLIER = 3;
const RETRIES = 3;
