import { isValidDid, isValidHandle, isValidNsid, isValidRecordKey, isValidTid } from '@atproto/syntax';

/**
 * The identifier checks ingest relies on, in one place so the interop vectors
 * (testkit/fixtures/atproto-interop/syntax) test exactly what ingest runs.
 */
export const isDid = (value: string): boolean => isValidDid(value);
export const isRecordKey = (value: string): boolean => isValidRecordKey(value);
export const isNsid = (value: string): boolean => isValidNsid(value);
export const isTid = (value: string): boolean => isValidTid(value);

const AT_PREFIX = 'at://';
const AT_URI_MAX_LENGTH = 8 * 1024;
const POST_COLLECTION = 'app.bsky.feed.post';

/**
 * The Lexicon `at-uri` format: `at://<did or handle>[/<nsid>[/<record key>]]`, nothing
 * else (no query, fragment, empty or extra segments). Stricter than the library's
 * generic check, as the interop vectors require.
 */
export function isAtUri(value: string): boolean {
  return atUriSegments(value) !== undefined;
}

/** The segments after `at://` of a valid AT-URI, or undefined. */
function atUriSegments(value: string): string[] | undefined {
  if (value.length > AT_URI_MAX_LENGTH || !value.startsWith(AT_PREFIX)) return undefined;
  const segments = value.slice(AT_PREFIX.length).split('/');
  const [authority, collection, rkey] = segments;
  if (segments.length > 3 || authority === undefined) return undefined;
  if (!isValidDid(authority) && !isValidHandle(authority)) return undefined;
  // The post collection comes a million times an hour: skip the NSID check for it.
  if (collection !== undefined && collection !== POST_COLLECTION && !isValidNsid(collection)) return undefined;
  if (rkey !== undefined && !isValidRecordKey(rkey)) return undefined;
  return segments;
}

/**
 * Checks the subject of a like, which must be `at://<did>/app.bsky.feed.post/<rkey>`:
 * strong refs name the author by DID, never by handle.
 */
export function checkPostUri(uri: string): 'bad_subject_uri' | 'subject_not_a_post' | undefined {
  const segments = atUriSegments(uri);
  if (segments === undefined) return 'bad_subject_uri';
  // A valid authority that starts with "did:" is a DID: handles cannot contain ':'.
  if (segments.length !== 3 || segments[1] !== POST_COLLECTION || !segments[0]!.startsWith('did:')) return 'subject_not_a_post';
  return undefined;
}

/** The author DID and record key of a post URI that passed checkPostUri. */
export function splitPostUri(uri: string): { authorDid: string; rkey: string } {
  const authorEnd = uri.indexOf('/', AT_PREFIX.length);
  return { authorDid: uri.slice(AT_PREFIX.length, authorEnd), rkey: uri.slice(uri.lastIndexOf('/') + 1) };
}

export function postUri(authorDid: string, rkey: string): string {
  return `${AT_PREFIX}${authorDid}/${POST_COLLECTION}/${rkey}`;
}
