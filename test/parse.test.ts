import { describe, expect, it } from 'vitest';
import { parseFrame } from '../src/ingest/parse.js';
import { CAPTURE_FILE, GOLDEN_KINDS_FILE, jsonlLines } from '../testkit/fixtures.js';

const MAX = 256 * 1024;
const parse = (text: string) => parseFrame(Buffer.from(text), false, MAX);

describe('parseFrame on the real capture', () => {
  const lines = jsonlLines(CAPTURE_FILE);

  it('turns every frame into an event or an ignored frame, never a rejection', () => {
    const outcomes = lines.map((line) => parse(line));
    expect(outcomes.filter((r) => r.outcome === 'rejected')).toEqual([]);
  });

  it('finds the 105 like creates of the capture', () => {
    const likes = lines.map((line) => parse(line)).filter((r) => r.outcome === 'event' && r.event.type === 'like');
    expect(likes).toHaveLength(105);
  });

  it('reads posts, the post delete and the account event; reposts are ignored as a collection not used', () => {
    const results = lines.map((line) => parse(line));
    const types = results.flatMap((r) => (r.outcome === 'event' ? [r.event.type] : []));
    expect(types.filter((t) => t === 'post')).toHaveLength(17);
    const reposts = lines.flatMap((line, i) => (line.includes('"app.bsky.feed.repost"') ? [results[i]!] : []));
    expect(reposts).toHaveLength(15);
    for (const r of reposts) expect(r).toMatchObject({ outcome: 'ignored', reason: 'other_collection' });
    expect(types).toContain('post-delete');
    expect(types).toContain('account');
  });

  it('reads the follow creates and deletes of the capture as follow events, never as stored ones', () => {
    const follows = lines.map((line) => parse(line)).flatMap((r) => (r.outcome === 'follow' ? [r.event] : []));
    expect(follows).toHaveLength(9);
    expect(follows).toContainEqual({ type: 'follow-delete', did: 'did:plc:ux2eeflheratfrvp3xfbp4zi', rkey: '3m3q3ut7jsm2m', timeUs: 1783175888112407 });
    expect(follows).toContainEqual({
      type: 'follow',
      did: 'did:plc:f2furrjn2jdhjcn2td54ivxx',
      rkey: '3mptbypmibb2v',
      subject: 'did:plc:mlbpil2fwz43vfn6uuysxtqa',
      timeUs: 1783175888137877,
    });
  });

  it('parses one of each kind from the golden file', () => {
    const results = jsonlLines(GOLDEN_KINDS_FILE).map((line) => parse(line));
    expect(results.filter((r) => r.outcome === 'rejected')).toEqual([]);
    const account = results.find((r) => r.outcome === 'event' && r.event.type === 'account');
    expect(account).toBeDefined();
  });
});

describe('parseFrame on bad input', () => {
  const like = JSON.parse(jsonlLines(CAPTURE_FILE)[0]!) as Record<string, unknown>;
  const withChange = (change: (frame: Record<string, unknown>) => void) => {
    const frame = structuredClone(like);
    change(frame);
    return JSON.stringify(frame);
  };
  const followOf = (subject: unknown) =>
    withChange((f) => Object.assign(f.commit as object, { collection: 'app.bsky.graph.follow', record: { $type: 'app.bsky.graph.follow', subject, createdAt: '2026-07-04T00:00:00Z' } }));

  it.each([
    ['truncated JSON', JSON.stringify(like).slice(0, 80), 'malformed_json'],
    ['an array', '[1,2,3]', 'not_an_object'],
    ['null', 'null', 'not_an_object'],
    ['time_us as a string', withChange((f) => (f.time_us = '1783175888085434')), 'bad_time_us'],
    ['negative time_us', withChange((f) => (f.time_us = -5)), 'bad_time_us'],
    ['a fractional cursor', withChange((f) => (f.cursor = 1.5)), 'bad_cursor'],
    ['an unknown kind', withChange((f) => (f.kind = 'mystery')), 'unknown_kind'],
    ['a missing commit', withChange((f) => delete f.commit), 'bad_commit'],
    ['a numeric subject uri', withChange((f) => ((f.commit as any).record.subject.uri = 42)), 'bad_record'],
    ['a missing record', withChange((f) => delete (f.commit as any).record), 'bad_record'],
    ['an unknown operation', withChange((f) => ((f.commit as any).operation = 'upsert')), 'bad_operation'],
    ['a subject that is not a post', withChange((f) => ((f.commit as any).record.subject.uri = 'at://did:plc:abc/app.bsky.actor.profile/self')), 'subject_not_a_post'],
    ['a follow of a post (a like\'s record)', withChange((f) => ((f.commit as any).collection = 'app.bsky.graph.follow')), 'bad_follow_subject'],
    ['a follow of a handle', followOf('alice.bsky.social'), 'bad_follow_subject'],
    ['a follow without a record', withChange((f) => ((f.commit as any).collection = 'app.bsky.graph.follow') && delete (f.commit as any).record), 'bad_record'],
  ])('rejects %s', (_name, text, reason) => {
    expect(parse(text)).toMatchObject({ outcome: 'rejected', reason });
  });

  it('rejects binary frames and oversized frames', () => {
    expect(parseFrame(Buffer.from([0, 1, 2]), true, MAX)).toMatchObject({ reason: 'binary_frame' });
    expect(parseFrame(Buffer.alloc(MAX + 1, 0x20), false, MAX)).toMatchObject({ reason: 'oversized_frame' });
  });

  it('rejects a text frame that is not valid UTF-8, and reads one with multi-byte characters', () => {
    const bytes = Buffer.from(JSON.stringify(like));
    expect(parseFrame(bytes, false, MAX).outcome).toBe('event');
    for (const bad of [[0xff], [0xc3], [0xed, 0xa0, 0x80] /* a lone surrogate */]) {
      const broken = Buffer.concat([bytes.subarray(0, 40), Buffer.from(bad), bytes.subarray(40)]);
      expect(parseFrame(broken, false, MAX)).toMatchObject({ outcome: 'rejected', reason: 'invalid_utf8' });
    }
    const accented = withChange((f) => ((f.commit as any).record.note = 'café ☕ 👍'));
    expect(parseFrame(Buffer.from(accented), false, MAX).outcome).toBe('event');
  });

  it('survives deep nesting and huge strings without throwing', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(parseFrame(Buffer.from(deep), false, 1024 * 1024).outcome).toBe('rejected');
    const huge = withChange((f) => (f.did = `did:plc:${'a'.repeat(200_000)}`));
    expect(parseFrame(Buffer.from(huge), false, 1024 * 1024)).toMatchObject({ reason: 'bad_did' });
  });

  it('labels frames with unknown kinds as "unknown" so metric labels stay bounded', () => {
    expect(parse(withChange((f) => (f.kind = 'x'.repeat(50))))).toMatchObject({ kind: 'unknown' });
  });

  it('ignores other collections, identity events and record updates', () => {
    expect(parse(withChange((f) => ((f.commit as any).collection = 'app.bsky.graph.block')))).toMatchObject({
      outcome: 'ignored',
      reason: 'other_collection',
    });
    expect(parse(withChange((f) => ((f.commit as any).operation = 'update')))).toMatchObject({ outcome: 'ignored', reason: 'update' });
  });

  it('reads the per-event sequence cursor of newer hosts', () => {
    expect(parse(withChange((f) => (f.cursor = 123456)))).toMatchObject({
      outcome: 'event',
      position: { timeUs: 1783175888085434, seq: 123456 },
    });
  });
});
