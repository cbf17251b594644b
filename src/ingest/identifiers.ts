import { isValidDid, isValidHandle, isValidNsid, isValidRecordKey, isValidTid } from '@atproto/syntax';
import type { PostRef } from './events.js';

/**
 * The identifier checks ingest relies on, in one place so the interop vectors
 * (../shared/fixtures/atproto-interop/syntax) test exactly what ingest runs.
 */
export const isDid = (value: string): boolean => isValidDid(value);
export const isRecordKey = (value: string): boolean => isValidRecordKey(value);
export const isNsid = (value: string): boolean => isValidNsid(value);
export const isTid = (value: string): boolean => isValidTid(value);

const AT_PREFIX = 'at://';
const AT_URI_MAX_LENGTH = 8 * 1024;

/**
 * The Lexicon `at-uri` format: `at://<did or handle>[/<nsid>[/<record key>]]`, nothing
 * else (no query, fragment, empty or extra segments). Stricter than the library's
 * generic check, as the interop vectors require.
 */
export function isAtUri(value: string): boolean {
  if (value.length > AT_URI_MAX_LENGTH || !value.startsWith(AT_PREFIX)) return false;
  const [authority, collection, rkey, ...extra] = value.slice(AT_PREFIX.length).split('/');
  if (extra.length > 0 || authority === undefined) return false;
  if (!isValidDid(authority) && !isValidHandle(authority)) return false;
  if (collection !== undefined && !isValidNsid(collection)) return false;
  return rkey === undefined || isValidRecordKey(rkey);
}
const POST_COLLECTION = 'app.bsky.feed.post';

export type PostUriResult = { ok: true; post: PostRef } | { ok: false; reason: 'bad_subject_uri' | 'subject_not_a_post' };

/**
 * Parses the subject of a like or repost, which must be `at://<did>/app.bsky.feed.post/<rkey>`.
 * Strong refs name the author by DID, never by handle.
 */
export function parsePostUri(uri: string): PostUriResult {
  if (!isAtUri(uri)) return { ok: false, reason: 'bad_subject_uri' };
  const [authorDid, collection, rkey] = uri.slice(AT_PREFIX.length).split('/');
  if (collection !== POST_COLLECTION || rkey === undefined || authorDid === undefined || !isValidDid(authorDid)) {
    return { ok: false, reason: 'subject_not_a_post' };
  }
  return { ok: true, post: { authorDid, rkey } };
}
