export const EVENT_KINDS = ['post', 'like', 'repost', 'unlike', 'postDelete', 'account', 'malformed'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export const MALFORMED_KINDS = [
  'truncated',
  'timeAsString',
  'uriAsNumber',
  'invalidDid',
  'invalidUri',
  'unknownKind',
  'notPostSubject',
] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

/** Filled while the generator runs; complete once it is done. */
export interface DatasetStats {
  counts: Record<EventKind, number>;
  malformed: Record<MalformedKind, number>;
  lines: number;
  /** Likes of a post whose community is one of the liker's communities. */
  likesInCommunity: number;
}

export function createDatasetStats(): DatasetStats {
  return {
    counts: zeroCounts(EVENT_KINDS),
    malformed: zeroCounts(MALFORMED_KINDS),
    lines: 0,
    likesInCommunity: 0,
  };
}

function zeroCounts<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}
