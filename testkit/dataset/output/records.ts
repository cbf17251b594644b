import type { Catalog } from '../model/catalog.js';
import type { Rng } from '../random.js';
import { createdAtUs, receivedUs, revisionUs } from '../time/delays.js';
import { US_PER_SECOND } from '../time/units.js';
import { clockIds, DID_BODY_CHARS, didBodies, IsoClock, postCidWords, writeCid, writeTid } from './identifiers.js';
import type { LineWriter } from './line-writer.js';
import { communityLanguage, writePostText } from './post-text.js';

export const POST_COLLECTION = 'app.bsky.feed.post';
export const LIKE_COLLECTION = 'app.bsky.feed.like';
export const REPOST_COLLECTION = 'app.bsky.feed.repost';

const FIREHOSE_SEQ_BASE = 31_000_000_000;
const FIREHOSE_EVENTS_PER_SECOND = 2_000;
const QUOTE = 34;
/** The start of an operation, up to its collection: one constant each, as lines are written per byte. */
const CREATE_IN = ',"operation":"create","collection":"';
const DELETE_IN = ',"operation":"delete","collection":"';

/**
 * Writes events as Jetstream v1 lines (without newline). Times: `atUs` is when Jetstream saw
 * the event, `createdUs` the client's createdAt.
 */
export class RecordWriter {
  private readonly iso = new IsoClock();
  private readonly cidWords = new Uint32Array(9);
  /** DID_BODY_CHARS bytes per user: the DID after "did:plc:". */
  private readonly didBodies: Uint8Array;
  private readonly clockIds: Uint16Array;
  private lastSeq = 0;

  constructor(
    private readonly seed: number,
    users: number,
    private readonly out: LineWriter,
    private readonly rng: Rng,
    private readonly catalog: Catalog,
    /** Firehose sequence numbers count from here. */
    private readonly originUs: number,
  ) {
    this.didBodies = didBodies(seed, users);
    this.clockIds = clockIds(seed, users);
  }

  /** A post create; `parent` is the post replied to, or -1. Its record key is minted with createdAt. */
  writePost(author: number, post: number, atUs: number, createdUs: number, parent: number): void {
    const { out } = this;
    const community = this.catalog.community[post]!;
    this.writeCreateHead(author, atUs, createdUs, POST_COLLECTION);
    out.ascii('","langs":["');
    out.ascii(communityLanguage(community));
    out.ascii('"],');
    if (parent >= 0) {
      out.ascii('"reply":{"parent":');
      this.writeStrongRef(parent);
      out.ascii(',"root":');
      this.writeStrongRef(parent);
      out.ascii('},');
    }
    out.ascii('"text":"');
    writePostText(out, this.rng, community);
    out.ascii('"},"cid":"');
    this.writePostCid(post);
    out.ascii('"}}');
  }

  /** A like or repost create: the record key is minted with createdAt. */
  writeSubject(collection: string, user: number, post: number, atUs: number, createdUs: number): void {
    const { out } = this;
    this.writeCreateHead(user, atUs, createdUs, collection);
    out.ascii('","subject":');
    this.writeStrongRef(post);
    out.ascii('},"cid":"');
    this.writeRandomCid();
    out.ascii('"}}');
  }

  writeDelete(user: number, atUs: number, collection: string, rkeyUs: number): void {
    this.writeCommitHead(user, atUs, createdAtUs(this.rng, atUs));
    this.writeOperation('delete', collection, user, rkeyUs);
    this.out.ascii('"}}');
  }

  /** An account event: active without a status, or inactive with one. */
  writeAccount(user: number, atUs: number, status: string | undefined): void {
    const { out } = this;
    this.writeEventHead(user, atUs);
    out.ascii(',"kind":"account","account":{"active":');
    out.ascii(status === undefined ? 'true' : 'false');
    out.ascii(',"did":"');
    this.writeDid(user);
    out.ascii('","seq":');
    out.integer(this.nextSeq(atUs));
    if (status !== undefined) {
      out.ascii(',"status":"');
      out.ascii(status);
      out.byte(QUOTE);
    }
    out.ascii(',"time":"');
    this.iso.write(out, createdAtUs(this.rng, atUs));
    out.ascii('"}}');
  }

  /** `{"did":"…","time_us":…` */
  private writeEventHead(user: number, atUs: number): void {
    this.out.ascii('{"did":"');
    this.writeDid(user);
    this.out.ascii('","time_us":');
    this.out.integer(receivedUs(this.rng, atUs));
  }

  /** A commit event up to its rev: `{"did":…,"time_us":…,"kind":"commit","commit":{"rev":"…"` */
  private writeCommitHead(user: number, atUs: number, createdUs: number): void {
    this.writeEventHead(user, atUs);
    this.out.ascii(',"kind":"commit","commit":{"rev":"');
    writeTid(this.out, revisionUs(this.rng, createdUs, atUs), this.clockIds[user]!);
    this.out.byte(QUOTE);
  }

  /** A create commit up to its record's createdAt value, left open for the record's other fields. */
  private writeCreateHead(user: number, atUs: number, createdUs: number, collection: string): void {
    const { out } = this;
    this.writeCommitHead(user, atUs, createdUs);
    this.writeOperation('create', collection, user, createdUs);
    out.ascii('","record":{"$type":"');
    out.ascii(collection);
    out.ascii('","createdAt":"');
    this.iso.write(out, createdUs);
  }

  /** `,"operation":"…","collection":"…","rkey":"…`, the key left unquoted. */
  private writeOperation(operation: 'create' | 'delete', collection: string, user: number, rkeyUs: number): void {
    const { out } = this;
    out.ascii(operation === 'create' ? CREATE_IN : DELETE_IN);
    out.ascii(collection);
    out.ascii('","rkey":"');
    writeTid(out, rkeyUs, this.clockIds[user]!);
  }

  /** `{"cid":"…","uri":"at://…/app.bsky.feed.post/…"}` */
  private writeStrongRef(post: number): void {
    const { out } = this;
    const author = this.catalog.author[post]!;
    out.ascii('{"cid":"');
    this.writePostCid(post);
    out.ascii('","uri":"at://');
    this.writeDid(author);
    out.ascii('/app.bsky.feed.post/');
    writeTid(out, this.catalog.rkeyUs[post]!, this.clockIds[author]!);
    out.ascii('"}');
  }

  private writeDid(user: number): void {
    this.out.ascii('did:plc:');
    this.out.copy(this.didBodies, user * DID_BODY_CHARS, DID_BODY_CHARS);
  }

  private writePostCid(post: number): void {
    postCidWords(this.seed, post, this.cidWords);
    writeCid(this.out, this.cidWords);
  }

  private writeRandomCid(): void {
    for (let i = 0; i < this.cidWords.length; i++) this.cidWords[i] = this.rng.uint32();
    writeCid(this.out, this.cidWords);
  }

  /** Firehose sequence numbers grow with time and never repeat. */
  private nextSeq(atUs: number): number {
    const bySecond = FIREHOSE_SEQ_BASE + Math.floor(((atUs - this.originUs) / US_PER_SECOND) * FIREHOSE_EVENTS_PER_SECOND);
    this.lastSeq = Math.max(bySecond, this.lastSeq + 1);
    return this.lastSeq;
  }
}
