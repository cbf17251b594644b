import { readFileSync } from 'node:fs';
import type { Rng } from '../random.js';
import { MALFORMED_KINDS, type MalformedKind } from '../stats.js';
import { createdAtUs } from '../time/delays.js';
import type { LineWriter } from './line-writer.js';
import { LIKE_COLLECTION, type RecordWriter } from './records.js';

/** Malformed lines are rare, so they are built from parsed objects rather than bytes. */

const INTEROP_SYNTAX_DIR = new URL('../../fixtures/atproto-interop/syntax/', import.meta.url);
const UNKNOWN_KINDS = ['sync', 'label', 'experimental'];
const NOT_POST_PATHS = ['app.bsky.feed.generator/whats-hot', 'app.bsky.actor.profile/self', 'app.bsky.graph.list/3lbqz5bq4vk2x'];

interface LikeFrame {
  did: unknown;
  time_us: unknown;
  kind: string;
  commit: { record: { subject: { uri: unknown } } };
}

/** Like-shaped lines that touch no state, broken in one of several ways. */
export class MalformedLines {
  private readonly invalidDids: string[] = [];
  private readonly invalidUris: string[] = [];

  constructor(
    malformedShare: number,
    private readonly users: number,
    private readonly out: LineWriter,
    private readonly rng: Rng,
    private readonly records: RecordWriter,
  ) {
    if (malformedShare > 0) {
      this.invalidDids = readInvalidVectors('did_syntax_invalid.txt');
      this.invalidUris = readInvalidVectors('aturi_syntax_invalid.txt');
    }
  }

  /** Writes one broken like of a random user and a post among the first `posts`; returns how it is broken. */
  write(atUs: number, posts: number): MalformedKind {
    const { out, rng } = this;
    const kind = rng.pick(MALFORMED_KINDS);
    const start = out.length;
    const user = rng.below(this.users);
    const post = rng.below(Math.max(1, posts));
    this.records.writeSubject(LIKE_COLLECTION, user, post, atUs, createdAtUs(rng, atUs));
    if (kind === 'truncated') {
      out.length = start + 1 + rng.below(out.length - start - 1);
      return kind;
    }
    const frame = JSON.parse(out.textSince(start)) as LikeFrame;
    out.length = start;
    this.breakFrame(frame, kind);
    out.utf8(JSON.stringify(frame));
    return kind;
  }

  private breakFrame(frame: LikeFrame, kind: Exclude<MalformedKind, 'truncated'>): void {
    const subject = frame.commit.record.subject;
    switch (kind) {
      case 'timeAsString':
        frame.time_us = String(frame.time_us);
        return;
      case 'uriAsNumber':
        subject.uri = this.rng.uint32();
        return;
      case 'invalidDid':
        frame.did = this.rng.pick(this.invalidDids);
        return;
      case 'invalidUri':
        subject.uri = this.rng.pick(this.invalidUris);
        return;
      case 'unknownKind':
        frame.kind = this.rng.pick(UNKNOWN_KINDS);
        return;
      case 'notPostSubject':
        subject.uri = `at://${String(frame.did)}/${this.rng.pick(NOT_POST_PATHS)}`;
        return;
    }
  }
}

/** Interop vector lines: one case a line, never trimmed; `#` starts a comment, blanks are skipped. */
function readInvalidVectors(file: string): string[] {
  const url = new URL(file, INTEROP_SYNTAX_DIR);
  try {
    return readFileSync(url, 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'));
  } catch (cause) {
    throw new Error(`dataset: read interop vectors ${url.pathname} (malformedShare 0 needs none)`, { cause });
  }
}
