import type { Metrics } from '../../observability/metrics.js';
import { ObjectStoreError } from '../bucket/object-store.js';

/** What one poll of the follower came to; counted under its name. */
export const POLL_OUTCOMES = [
  /** The next WAL segment was checked and written. */
  'applied',
  /** The bucket holds nothing past the copy's position yet. */
  'nothing_new',
  /** The database file was gone (a wiped volume): restored afresh. */
  'file_missing',
  /** The primary started a new generation: restored it. */
  'new_generation',
  /** Retention deleted segments the copy still needed: restored afresh. */
  'retention_gap',
  /** A segment failed its checks (torn while uploading, or damaged): nothing written, retried. */
  'segment_damaged',
  /** A segment stayed damaged poll after poll (the bound): restored afresh from the newest snapshot. */
  'restored_past_damage',
  /** The object store failed or could not be reached. */
  'store_error',
  /** A restore found no generation or snapshot, or made a copy that fails quick_check. */
  'restore_failed',
  /** Writing checked pages into the file failed (a full disk, an I/O error). */
  'apply_failed',
  /** Anything else: a bug. */
  'unexpected',
] as const;

export type PollOutcome = (typeof POLL_OUTCOMES)[number];

/** The outcomes of a poll that replaced the copy with a fresh restore. */
export const RESTORED_AFRESH: ReadonlySet<string> = new Set<PollOutcome>(['file_missing', 'new_generation', 'retention_gap', 'restored_past_damage']);

/** The outcomes a poll ends with by throwing; each is also a follow error. */
export type FailureReason = Extract<PollOutcome, 'segment_damaged' | 'store_error' | 'restore_failed' | 'apply_failed' | 'unexpected'>;

/** A failure of the follower, with the reason it is counted under. */
export class FollowerError extends Error {
  override name = 'FollowerError';

  constructor(
    readonly reason: FailureReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The reason a poll failed, from what it threw. */
export function failureReason(err: unknown): FailureReason {
  if (err instanceof FollowerError) return err.reason;
  if (err instanceof ObjectStoreError) return 'store_error';
  return 'unexpected';
}

/** The follower's polls by outcome; every outcome starts at 0, so a rate over any of them is defined from the first scrape. */
export function pollOutcomeCounter(metrics: Metrics): Metrics['replicaPolls'] {
  for (const outcome of POLL_OUTCOMES) metrics.replicaPolls.inc({ outcome }, 0);
  return metrics.replicaPolls;
}
