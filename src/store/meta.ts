import type { AnyDb } from './database.js';

/** Keys of the `meta` table; values are plain SQLite scalars. */
export const META = {
  /** Resume point on any host: a time_us below every event not yet committed. */
  cursorTimeUs: 'cursor_time_us',
  /** Resume point on the host that numbered the events (newer Jetstream hosts). */
  cursorSeq: 'cursor_seq',
  cursorSeqHost: 'cursor_seq_host',
  /** Likes not deleted and not pruned. */
  liveLikes: 'live_likes',
  /** Every like with an id at or below this has been pruned. */
  prunedLikeId: 'pruned_like_id',
  /** Where the next sweep for unliked old posts starts. */
  postSweepId: 'post_sweep_id',
  /** Whether the primary can serve feeds (a PrimaryFeedState): replicas read it in their copy. */
  primaryFeed: 'primary_feed',
  /** Why the primary's ingest is paused (an IngestPauseReason), absent while it writes. */
  ingestPaused: 'ingest_paused',
} as const;

/** The meta keys by which the primary tells replicas its state. */
export type PrimarySignalKey = typeof META.primaryFeed | typeof META.ingestPaused;

/**
 * The primary's feed as it last wrote it: `loading` from the writer's start until the like
 * graph is loaded, `serving` after, `stopped` once it shut down cleanly. A replica whose copy
 * is behind hands reads to the primary only while it says `serving`: a primary that is
 * loading would answer 503, one that stopped would not answer at all.
 */
export type PrimaryFeedState = 'loading' | 'serving' | 'stopped';

export type MetaKey = (typeof META)[keyof typeof META];

export interface StoredCursor {
  timeUs: number | undefined;
  seq: number | undefined;
  seqHost: string | undefined;
}

export class MetaTable {
  private readonly getStmt;
  private readonly setStmt;

  constructor(db: AnyDb) {
    this.getStmt = db.prepare<[string], { value: unknown }>('SELECT value FROM meta WHERE key = ?');
    this.setStmt = db.prepare<[string, number | string | null]>(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
  }

  number(key: MetaKey): number | undefined {
    const value = this.getStmt.get(key)?.value;
    return typeof value === 'number' || typeof value === 'bigint' ? Number(value) : undefined;
  }

  string(key: MetaKey): string | undefined {
    const value = this.getStmt.get(key)?.value;
    return typeof value === 'string' ? value : undefined;
  }

  set(key: MetaKey, value: number | string | undefined): void {
    this.setStmt.run(key, value ?? null);
  }

  cursor(): StoredCursor {
    return {
      timeUs: this.number(META.cursorTimeUs),
      seq: this.number(META.cursorSeq),
      seqHost: this.string(META.cursorSeqHost),
    };
  }

  setCursor(cursor: StoredCursor): void {
    this.set(META.cursorTimeUs, cursor.timeUs);
    this.set(META.cursorSeq, cursor.seq);
    this.set(META.cursorSeqHost, cursor.seqHost);
  }
}
