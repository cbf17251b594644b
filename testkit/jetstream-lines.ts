/**
 * Single Jetstream lines, as the firehose spells them, for tests that append a few events
 * to a replay (follows, likes): the generated datasets hold likes, posts and reposts only.
 */
import { postUri } from '../src/atproto/identifiers.js';

const CID = 'bafyreigc2ugr6hueiqc6zbuofxlgvmmyu5ba43mxc7tygjd44uoga5fjky';

function commit(did: string, timeUs: number, operation: 'create' | 'delete', collection: string, rkey: string, record?: object): string {
  return JSON.stringify({
    did,
    time_us: timeUs,
    kind: 'commit',
    commit: { rev: '3mptbypmq3b2v', operation, collection, rkey, ...(record && { record: { $type: collection, ...record, createdAt: new Date(timeUs / 1000).toISOString() }, cid: CID }) },
  });
}

/** `did` follows `subject` (which a bad test may make anything but a DID). */
export const followLine = (did: string, rkey: string, subject: unknown, timeUs: number) => commit(did, timeUs, 'create', 'app.bsky.graph.follow', rkey, { subject });
export const unfollowLine = (did: string, rkey: string, timeUs: number) => commit(did, timeUs, 'delete', 'app.bsky.graph.follow', rkey);
/** `did` likes the post `postRkey` of `author`. */
export const likeLine = (did: string, rkey: string, author: string, postRkey: string, timeUs: number) =>
  commit(did, timeUs, 'create', 'app.bsky.feed.like', rkey, { subject: { uri: postUri(author, postRkey), cid: CID } });
