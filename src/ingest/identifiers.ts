import { isValidAtUri, isValidDid, isValidNsid, isValidRecordKey, isValidTid } from '@atproto/syntax';
import type { PostRef } from './events.js';

/**
 * The identifier checks ingest relies on, in one place so the interop vectors
 * (../shared/fixtures/atproto-interop/syntax) test exactly what ingest runs.
 */
export const isDid = (value: string): boolean => isValidDid(value);
export const isRecordKey = (value: string): boolean => isValidRecordKey(value);
export const isNsid = (value: string): boolean => isValidNsid(value);
export const isTid = (value: string): boolean => isValidTid(value);
export const isAtUri = (value: string): boolean => isValidAtUri(value);

const AT_PREFIX = 'at://';
const POST_COLLECTION_PATH = '/app.bsky.feed.post/';

export type PostUriResult = { ok: true; post: PostRef } | { ok: false; reason: 'bad_subject_uri' | 'subject_not_a_post' };

/**
 * Parses the subject of a like or repost, which must be `at://<did>/app.bsky.feed.post/<rkey>`.
 * Strong refs name the author by DID, never by handle.
 */
export function parsePostUri(uri: string): PostUriResult {
  if (!uri.startsWith(AT_PREFIX) || !isValidAtUri(uri)) return { ok: false, reason: 'bad_subject_uri' };
  const pathStart = uri.indexOf('/', AT_PREFIX.length);
  if (pathStart < 0) return { ok: false, reason: 'subject_not_a_post' };
  const authorDid = uri.slice(AT_PREFIX.length, pathStart);
  if (!uri.startsWith(POST_COLLECTION_PATH, pathStart)) return { ok: false, reason: 'subject_not_a_post' };
  const rkey = uri.slice(pathStart + POST_COLLECTION_PATH.length);
  if (!isValidDid(authorDid) || !isValidRecordKey(rkey)) return { ok: false, reason: 'subject_not_a_post' };
  return { ok: true, post: { authorDid, rkey } };
}
