import { isUtf8 } from 'node:buffer';
import { type FollowEvent, type IngestEvent, JETSTREAM_COLLECTIONS, type ParseResult, type RejectReason, type StreamPosition } from './events.js';
import { checkPostUri, isDid, isRecordKey } from '../atproto/identifiers.js';

/**
 * Turns one Jetstream frame into a typed event, an ignored frame, or a rejection
 * with a reason. Total: it never throws, whatever the bytes.
 */
export function parseFrame(data: Buffer | string, isBinary: boolean, maxFrameBytes: number): ParseResult {
  if (isBinary) return reject('binary', 'binary_frame');
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (size > maxFrameBytes) return reject('unknown', 'oversized_frame');
  // The client skips the WebSocket's own check (it would close the connection): a bad text frame is counted here.
  if (typeof data !== 'string' && !isUtf8(data)) return reject('unknown', 'invalid_utf8');

  let frame: unknown;
  try {
    frame = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    return reject('unknown', 'malformed_json');
  }
  return parseEvent(frame);
}

const KNOWN_KINDS = new Set(['commit', 'account', 'identity']);

/** Validates an already-decoded frame. */
export function parseEvent(frame: unknown): ParseResult {
  if (!isObject(frame)) return reject('unknown', 'not_an_object');
  // The kind becomes a metric label: only known values, whatever the frame says.
  const kind = typeof frame.kind === 'string' && KNOWN_KINDS.has(frame.kind) ? frame.kind : 'unknown';

  const { did, time_us: timeUs, cursor } = frame;
  if (typeof did !== 'string' || !isDid(did)) return reject(kind, 'bad_did');
  if (!isPositiveInteger(timeUs)) return reject(kind, 'bad_time_us');
  if (cursor !== undefined && !isPositiveInteger(cursor)) return reject(kind, 'bad_cursor');
  const position: StreamPosition = { timeUs, seq: cursor };

  switch (frame.kind) {
    case 'commit':
      return parseCommit(did, timeUs, frame.commit, position);
    case 'account':
      return parseAccount(did, timeUs, frame.account, position);
    case 'identity':
      return { outcome: 'ignored', kind, reason: 'identity', position };
    default:
      return reject(kind, 'unknown_kind');
  }
}

function parseCommit(did: string, timeUs: number, commit: unknown, position: StreamPosition): ParseResult {
  if (!isObject(commit)) return reject('commit', 'bad_commit');
  const { operation, collection, rkey, record } = commit;
  if (typeof collection !== 'string') return reject('commit', 'bad_collection');
  const type = collectionType(collection);
  if (type === undefined) return { outcome: 'ignored', kind: 'commit', reason: 'other_collection', position };
  if (operation !== 'create' && operation !== 'update' && operation !== 'delete') return reject(type, 'bad_operation');
  if (typeof rkey !== 'string' || !isRecordKey(rkey)) return reject(type, 'bad_rkey');

  // Likes and follows are never edited; a post edit changes nothing we rank on.
  if (operation === 'update') return { outcome: 'ignored', kind: type, reason: 'update', position };
  if (type === 'follow') return parseFollow(operation, did, rkey, record, timeUs, position);
  if (operation === 'delete') return accept({ type: `${type}-delete`, did, rkey, timeUs }, position);

  if (!isObject(record)) return reject(type, 'bad_record');
  if (type === 'post') {
    const createdAtUs = typeof record.createdAt === 'string' ? parseDatetimeUs(record.createdAt) : undefined;
    return accept({ type, did, rkey, createdAtUs, isReply: isObject(record.reply), timeUs }, position);
  }
  const subject = record.subject;
  if (!isObject(subject) || typeof subject.uri !== 'string') return reject(type, 'bad_record');
  const problem = checkPostUri(subject.uri);
  if (problem !== undefined) return reject(type, problem);
  return accept({ type, did, rkey, subjectUri: subject.uri, timeUs }, position);
}

/** A follow's record names the followed account by DID (app.bsky.graph.follow), never by handle. */
function parseFollow(operation: 'create' | 'delete', did: string, rkey: string, record: unknown, timeUs: number, position: StreamPosition): ParseResult {
  if (operation === 'delete') return follow({ type: 'follow-delete', did, rkey, timeUs }, position);
  if (!isObject(record)) return reject('follow', 'bad_record');
  const { subject } = record;
  if (typeof subject !== 'string' || !isDid(subject)) return reject('follow', 'bad_follow_subject');
  return follow({ type: 'follow', did, rkey, subject, timeUs }, position);
}

function parseAccount(did: string, timeUs: number, account: unknown, position: StreamPosition): ParseResult {
  if (!isObject(account)) return reject('account', 'bad_account');
  const { active, status, seq } = account;
  if (typeof active !== 'boolean' || !isPositiveInteger(seq)) return reject('account', 'bad_account');
  if (status !== undefined && typeof status !== 'string') return reject('account', 'bad_account');
  if (account.did !== undefined && account.did !== did) return reject('account', 'bad_account');
  return accept({ type: 'account', did, active, status, accountSeq: seq, timeUs }, position);
}

function collectionType(collection: string): 'like' | 'post' | 'follow' | undefined {
  switch (collection) {
    case JETSTREAM_COLLECTIONS.like:
      return 'like';
    case JETSTREAM_COLLECTIONS.post:
      return 'post';
    case JETSTREAM_COLLECTIONS.follow:
      return 'follow';
    default:
      return undefined;
  }
}

/** createdAt is claimed by the client: keep it only when it is a sane date. */
function parseDatetimeUs(value: string): number | undefined {
  if (value.length > 64) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms * 1000 : undefined;
}

function accept(event: IngestEvent, position: StreamPosition): ParseResult {
  return { outcome: 'event', event, position };
}

function follow(event: FollowEvent, position: StreamPosition): ParseResult {
  return { outcome: 'follow', event, position };
}

function reject(kind: string, reason: RejectReason): ParseResult {
  return { outcome: 'rejected', kind, reason };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
