/**
 * Replica lag, measured from outside the replica in two ways:
 *
 * - heartbeat lag: what the replica itself reports (`lag_seconds` of /xrpc/_health, that
 *   is now − the primary's heartbeat as its copy holds it), sampled on a fixed schedule.
 *   The heartbeat moves once a second, so this includes the heartbeat's own age (0-1 s);
 * - commit lag: for each new max(likes.id) seen on the primary's file, the time until the
 *   replica's file holds that id. Both files are polled read-only on the same schedule,
 *   so each figure is within ± one sampling period of the truth.
 *
 * Times are performance.now() milliseconds of this process.
 */
import { openReader, type ReaderDb } from '../../src/store/database.js';

export interface Sample {
  atMs: number;
  value: number;
}

export interface Sampler {
  samples: Sample[];
  /** Samples that failed (a request refused, a file read mid-apply). */
  errors(): number;
  stop(): Promise<void>;
}

/** Calls `read` every `everyMs` (never two at once; a slow read skips the missed ticks) and keeps what it returns. */
export function sampleEvery(everyMs: number, read: () => Promise<number | undefined> | number | undefined): Sampler {
  const samples: Sample[] = [];
  let errors = 0;
  let stopped = false;
  const loop = (async () => {
    const started = performance.now();
    for (let tick = 0; !stopped; ) {
      const atMs = performance.now();
      try {
        const value = await read();
        if (value !== undefined) samples.push({ atMs, value });
      } catch {
        errors += 1;
      }
      tick = Math.max(tick + 1, Math.ceil((performance.now() - started) / everyMs));
      await new Promise((resolve) => setTimeout(resolve, started + tick * everyMs - performance.now()));
    }
  })();
  return {
    samples,
    errors: () => errors,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

/**
 * max(likes.id) of a database file, read-only. `reopen`: a connection per read, for the
 * replica's copy, which the follower rewrites in place (a connection kept open would
 * serve pages from its stale cache); the primary's WAL-mode file keeps one connection.
 */
export function maxLikeIdReader(dbPath: string, reopen: boolean): { read(): number; close(): void } {
  const open = () => openReader(dbPath);
  const query = (db: ReaderDb) => Number((db.prepare('SELECT max(id) AS id FROM likes').get() as { id: number | null }).id ?? 0);
  if (reopen) {
    return {
      read: () => {
        const db = open();
        try {
          return query(db);
        } finally {
          db.close();
        }
      },
      close: () => {},
    };
  }
  const db = open();
  return { read: () => query(db), close: () => db.close() };
}

export interface CommitLag {
  /** Seconds from a primary commit to the replica holding it, one per commit seen in the window. */
  seconds: number[];
  /** Commits in the window the replica did not hold by the last sample (counted at that time: a lower bound). */
  undelivered: number;
}

/**
 * Pairs each primary commit seen in [fromMs, toMs] (a sample where max(likes.id) grew)
 * with the first replica sample at or after it holding that id.
 */
export function commitLag(primary: Sample[], replica: Sample[], fromMs: number, toMs: number): CommitLag {
  const seconds: number[] = [];
  let undelivered = 0;
  let r = 0;
  let lastId = 0;
  const lastAt = replica.at(-1)?.atMs ?? toMs;
  for (const { atMs, value: id } of primary) {
    const grew = id > lastId;
    lastId = Math.max(lastId, id);
    if (!grew || atMs < fromMs || atMs > toMs) continue;
    // Replica samples only ever move forward, and so do the primary's ids: one pass.
    while (r < replica.length && (replica[r]!.atMs < atMs || replica[r]!.value < id)) r += 1;
    if (r < replica.length) {
      seconds.push((replica[r]!.atMs - atMs) / 1000);
    } else {
      undelivered += 1;
      seconds.push(Math.max(0, lastAt - atMs) / 1000);
    }
  }
  return { seconds, undelivered };
}

/** Values of the samples taken in [fromMs, toMs]. */
export function within(samples: Sample[], fromMs: number, toMs: number): number[] {
  return samples.filter((s) => s.atMs >= fromMs && s.atMs <= toMs).map((s) => s.value);
}

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles (NaN for no values). */
export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
  const mean = sorted.length === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { count: sorted.length, p50: rank(0.5), p99: rank(0.99), max: sorted.at(-1) ?? Number.NaN, mean };
}
