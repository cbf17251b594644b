/**
 * The status page's memory: fixed-size rings of samples, and the two ways a sample is
 * derived from Prometheus metrics that only ever count up (a counter's rate, a
 * histogram's percentiles over the growth of its buckets).
 */

/** One sample; `value` is undefined when it was unknown at `t`. */
export interface Point {
  /** Milliseconds since the epoch. */
  t: number;
  value: number | undefined;
}

/** The last `capacity` points, oldest first; older ones are overwritten, so memory stays bounded. */
export class Series {
  private readonly ring: Point[] = [];
  private next = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`series capacity must be a positive integer, not ${capacity}`);
  }

  push(t: number, value: number | undefined): void {
    if (this.ring.length < this.capacity) this.ring.push({ t, value });
    else this.ring[this.next] = { t, value };
    this.next = (this.next + 1) % this.capacity;
  }

  points(): Point[] {
    return this.ring.length < this.capacity ? [...this.ring] : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }

  latest(): number | undefined {
    return this.ring.length === 0 ? undefined : this.ring[(this.next + this.capacity - 1) % this.capacity]!.value;
  }
}

/**
 * Growth per second of a counter between two readings; undefined without an earlier
 * reading, or when the counter went down (a restart or reset makes the window meaningless).
 */
export function counterRate(before: number | undefined, after: number, seconds: number): number | undefined {
  if (before === undefined || seconds <= 0 || after < before) return undefined;
  return (after - before) / seconds;
}

/** A histogram's cumulative bucket counts, by upper bound (`+Inf` last). */
export type Buckets = ReadonlyArray<{ le: number; count: number }>;

/** Per bucket, what was observed between two readings of the same histogram. */
export function bucketGrowth(before: Buckets, after: Buckets): Buckets {
  return after.map(({ le, count }) => ({ le, count: count - (before.find((b) => b.le === le)?.count ?? 0) }));
}

/**
 * The q-quantile (0..1) of cumulative buckets, as Prometheus' histogram_quantile
 * estimates it: linear within the bucket that holds the rank, the bucket's upper bound
 * when that is +Inf's bucket (the largest finite bound). Undefined with no observations.
 */
export function bucketQuantile(q: number, buckets: Buckets): number | undefined {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const { le, count } of buckets) {
    if (count >= rank) {
      if (le === Infinity) return lower;
      const inBucket = count - below;
      return inBucket === 0 ? le : lower + ((le - lower) * (rank - below)) / inBucket;
    }
    lower = le;
    below = count;
  }
  return lower;
}
