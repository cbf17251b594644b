/**
 * The typed events that ingest understands. A Jetstream frame becomes exactly one
 * of these, or a counted rejection (see parse.ts).
 */

export type IngestEvent =
  /** `subjectUri` is a checked post URI, `at://<did>/app.bsky.feed.post/<rkey>`. */
  | { type: 'like'; did: string; rkey: string; subjectUri: string; timeUs: number }
  | { type: 'like-delete'; did: string; rkey: string; timeUs: number }
  | { type: 'post'; did: string; rkey: string; createdAtUs: number | undefined; isReply: boolean; timeUs: number }
  | { type: 'post-delete'; did: string; rkey: string; timeUs: number }
  | { type: 'account'; did: string; active: boolean; status: string | undefined; accountSeq: number; timeUs: number };

export type EventType = IngestEvent['type'];

/**
 * A follow record, created or deleted. Not stored: follows only keep the in-memory follows
 * cache of users already cached fresh (src/feed/follows/), so they never reach the writer.
 */
export type FollowEvent =
  /** `subject` is a checked DID: the account followed. */
  | { type: 'follow'; did: string; rkey: string; subject: string; timeUs: number }
  | { type: 'follow-delete'; did: string; rkey: string; timeUs: number };

/** Where an event sits in the stream: the two cursor flavours Jetstream hosts offer. */
export interface StreamPosition {
  timeUs: number;
  /** Per-host sequence number; only newer hosts send it. */
  seq: number | undefined;
}


export type ParseResult =
  | { outcome: 'event'; event: IngestEvent; position: StreamPosition }
  | { outcome: 'follow'; event: FollowEvent; position: StreamPosition }
  | { outcome: 'ignored'; kind: string; reason: string; position: StreamPosition }
  | { outcome: 'rejected'; kind: string; reason: RejectReason };

export type RejectReason =
  | 'binary_frame'
  | 'oversized_frame'
  | 'invalid_utf8'
  | 'malformed_json'
  | 'not_an_object'
  | 'bad_did'
  | 'bad_time_us'
  | 'bad_cursor'
  | 'unknown_kind'
  | 'bad_commit'
  | 'bad_collection'
  | 'bad_operation'
  | 'bad_rkey'
  | 'bad_record'
  | 'bad_subject_uri'
  | 'subject_not_a_post'
  | 'bad_follow_subject'
  | 'bad_account';

export const JETSTREAM_COLLECTIONS = {
  like: 'app.bsky.feed.like',
  post: 'app.bsky.feed.post',
  follow: 'app.bsky.graph.follow',
} as const;

export const WANTED_COLLECTIONS: readonly string[] = Object.values(JETSTREAM_COLLECTIONS);
