import { describe, expect, it } from 'vitest';
import { checkPostUri, isAtUri, isDid, isNsid, isRecordKey, isTid, splitPostUri } from '../src/atproto/identifiers.js';
import { parseEvent } from '../src/ingest/parse.js';
import { syntaxVectors } from '../testkit/fixtures.js';

const CHECKS: Array<[string, (value: string) => boolean]> = [
  ['did', isDid],
  ['recordkey', isRecordKey],
  ['nsid', isNsid],
  ['tid', isTid],
  ['aturi', isAtUri],
];

describe('identifier checks against the atproto interop vectors', () => {
  for (const [name, check] of CHECKS) {
    const valid = syntaxVectors(`${name}_syntax_valid`);
    const invalid = syntaxVectors(`${name}_syntax_invalid`);

    it(`accepts all ${valid.length} valid ${name} vectors`, () => {
      expect(valid.length).toBeGreaterThan(0);
      expect(valid.filter((v) => !check(v))).toEqual([]);
    });

    it(`rejects all ${invalid.length} invalid ${name} vectors`, () => {
      expect(invalid.length).toBeGreaterThan(0);
      expect(invalid.filter((v) => check(v))).toEqual([]);
    });
  }
});

const likeFrame = (did: string, uri: string, rkey = '3mptbyplj5d2a') => ({
  did,
  time_us: 1783175888085434,
  kind: 'commit',
  commit: {
    operation: 'create',
    collection: 'app.bsky.feed.like',
    rkey,
    record: { $type: 'app.bsky.feed.like', subject: { uri, cid: 'bafyreiftot7eltsc3f6g4qktykmbv6jcmdmhcx5osscan6jpdxkpqcmcza' } },
  },
});
const POST_URI = 'at://did:plc:r2zybk6op3ymzpz6jhqpkoy5/app.bsky.feed.post/3mpsjbtci2c2o';

describe('frames carrying interop identifiers', () => {
  it('rejects a frame from every invalid DID and accepts every valid one', () => {
    for (const did of syntaxVectors('did_syntax_invalid')) {
      expect(parseEvent(likeFrame(did, POST_URI))).toMatchObject({ outcome: 'rejected', reason: 'bad_did' });
    }
    for (const did of syntaxVectors('did_syntax_valid')) {
      expect(parseEvent(likeFrame(did, POST_URI)).outcome).toBe('event');
    }
  });

  it('rejects every invalid AT-URI as a like subject', () => {
    for (const uri of syntaxVectors('aturi_syntax_invalid')) {
      expect(parseEvent(likeFrame('did:plc:wq4aajammjtxdomz3e23667t', uri))).toMatchObject({
        outcome: 'rejected',
        reason: 'bad_subject_uri',
      });
    }
  });

  it('rejects every invalid record key', () => {
    for (const rkey of syntaxVectors('recordkey_syntax_invalid')) {
      expect(parseEvent(likeFrame('did:plc:wq4aajammjtxdomz3e23667t', POST_URI, rkey))).toMatchObject({
        outcome: 'rejected',
        reason: 'bad_rkey',
      });
    }
  });
});

describe('post URIs', () => {
  it('accepts a post URI and splits it into author DID and record key', () => {
    expect(checkPostUri(POST_URI)).toBeUndefined();
    expect(splitPostUri(POST_URI)).toEqual({ authorDid: 'did:plc:r2zybk6op3ymzpz6jhqpkoy5', rkey: '3mpsjbtci2c2o' });
  });

  it.each([
    ['a valid URI of another collection', 'at://did:plc:r2zybk6op3ymzpz6jhqpkoy5/app.bsky.feed.generator/whats-hot'],
    ['an author named by handle', 'at://alice.bsky.social/app.bsky.feed.post/3mpsjbtci2c2o'],
    ['a URI without a record key', 'at://did:plc:r2zybk6op3ymzpz6jhqpkoy5/app.bsky.feed.post'],
    ['a bare authority', 'at://did:plc:r2zybk6op3ymzpz6jhqpkoy5'],
  ])('refuses %s as a like subject', (_name, uri) => {
    expect(checkPostUri(uri)).toBe('subject_not_a_post');
  });
});
