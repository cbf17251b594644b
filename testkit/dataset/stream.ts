import { Catalog } from './model/catalog.js';
import { InteractionPicker, LIKE_SALT, REPOST_SALT } from './model/interactions.js';
import { belongsTo, buildPopulation, type Population } from './model/population.js';
import { type LineWriter, MAX_EVENT_BYTES } from './output/line-writer.js';
import { MalformedLines } from './output/malformed.js';
import { LIKE_COLLECTION, POST_COLLECTION, RecordWriter, REPOST_COLLECTION } from './output/records.js';
import { repostCount, type ResolvedDatasetOptions } from './options.js';
import { Rng } from './random.js';
import type { DatasetStats } from './stats.js';
import { createdAtUs, postDeleteAtUs, unlikeAtUs, visibleAtUs } from './time/delays.js';
import { type PendingEvent, PendingQueue } from './time/pending-queue.js';
import { DiurnalTimeline, EventSchedule, streamWindow } from './time/timeline.js';

/** Some account events are plain re-activations that change nothing. */
const ACCOUNT_ACTIVE_SHARE = 0.3;
/** Statuses of the rest, repeated to weigh them. */
const ACCOUNT_STATUSES = ['deactivated', 'deactivated', 'deleted', 'deleted', 'takendown'] as const;

/**
 * The stream, one line at a time: merges the scheduled posts, likes, reposts and account events
 * with what falls due later (posts becoming visible, unlikes, post deletes) in time order, and
 * keeps the model in step with what it has written.
 */
export class StreamGenerator {
  private readonly rng: Rng;
  private readonly population: Population;
  private readonly catalog: Catalog;
  private readonly picker: InteractionPicker;
  private readonly records: RecordWriter;
  private readonly malformed: MalformedLines;
  private readonly pending = new PendingQueue();
  private readonly postSchedule: EventSchedule;
  private readonly likeSchedule: EventSchedule;
  private readonly repostSchedule: EventSchedule;
  private readonly accountSchedule: EventSchedule;
  private nextPost = 0;
  /** Set after a valid line when a malformed one follows it, at that line's time. */
  private malformedAtUs = Number.NaN;

  constructor(
    private readonly options: ResolvedDatasetOptions,
    private readonly stats: DatasetStats,
    private readonly out: LineWriter,
  ) {
    // 1. The world, drawn in this order from one seeded stream: users, then posts.
    this.rng = new Rng(options.seed);
    const window = streamWindow(options.days, options.endTimeUs);
    this.population = buildPopulation(options, this.rng);
    this.catalog = new Catalog(options, this.population, this.rng, window.originUs);
    this.picker = new InteractionPicker(options, this.population, this.catalog, this.rng);

    // 2. How events become lines.
    this.records = new RecordWriter(options.seed, options.users, out, this.rng, this.catalog, window.originUs);
    this.malformed = new MalformedLines(options.malformedShare, options.users, out, this.rng, this.records);

    // 3. When they happen: an exact count of each kind along the diurnal curve.
    const timeline = new DiurnalTimeline(window.originUs, window.endUs, options.diurnalAmplitude);
    const schedule = (count: number, fromUs: number) => new EventSchedule(count, this.rng, timeline, fromUs, window.endUs);
    this.postSchedule = schedule(options.posts, window.originUs);
    this.likeSchedule = schedule(options.likes, window.startUs);
    this.repostSchedule = schedule(repostCount(options), window.startUs);
    this.accountSchedule = schedule(Math.round(options.users * options.accountEventShare), window.startUs);
  }

  /** Writes the next line (without newline); false once the stream is over. */
  writeLine(): boolean {
    this.out.reserve(MAX_EVENT_BYTES);
    if (!Number.isNaN(this.malformedAtUs)) {
      this.writeMalformed(this.malformedAtUs);
      this.malformedAtUs = Number.NaN;
      this.stats.lines++;
      return true;
    }
    for (;;) {
      const atUs = Math.min(
        this.pending.nextUs,
        this.postSchedule.nextUs,
        this.likeSchedule.nextUs,
        this.repostSchedule.nextUs,
        this.accountSchedule.nextUs,
      );
      // Unlikes and deletes due after the end stay pending forever.
      if (atUs > this.options.endTimeUs) return false;
      if (!this.writeEventAt(atUs)) continue;
      this.stats.lines++;
      if (this.rng.float() < this.options.malformedShare) this.malformedAtUs = atUs;
      return true;
    }
  }

  /** Writes the event due at `atUs`; false when it had nothing to say (e.g. its account is gone). */
  private writeEventAt(atUs: number): boolean {
    if (this.pending.nextUs === atUs) return this.writePending(this.pending.pop());
    if (this.postSchedule.nextUs === atUs) {
      this.postSchedule.advance();
      return this.writePost(atUs);
    }
    if (this.likeSchedule.nextUs === atUs) {
      this.likeSchedule.advance();
      this.writeLike(atUs);
      return true;
    }
    if (this.repostSchedule.nextUs === atUs) {
      this.repostSchedule.advance();
      this.writeRepost(atUs);
      return true;
    }
    this.accountSchedule.advance();
    return this.writeAccountEvent(atUs);
  }

  private writePending({ action, atUs, user, post, rkeyUs }: PendingEvent): boolean {
    const { catalog, records, stats } = this;
    switch (action) {
      case 'activatePost':
        if (this.population.active[catalog.author[post]!]) catalog.activate(post, atUs);
        return false;
      case 'unlike':
        if (!this.population.active[user]) return false;
        stats.counts.unlike++;
        records.writeDelete(user, atUs, LIKE_COLLECTION, rkeyUs);
        return true;
      case 'deletePost':
        if (!catalog.remove(post)) return false;
        stats.counts.postDelete++;
        records.writeDelete(catalog.author[post]!, atUs, POST_COLLECTION, catalog.rkeyUs[post]!);
        return true;
    }
  }

  /** The next post in id order: created now, visible shortly, maybe deleted later. */
  private writePost(atUs: number): boolean {
    const { catalog, rng } = this;
    const post = this.nextPost++;
    const author = catalog.author[post]!;
    if (!this.population.active[author]) return false;
    const createdUs = createdAtUs(rng, atUs);
    catalog.create(post, createdUs);
    this.pending.push(visibleAtUs(rng, atUs), 'activatePost', author, post);
    if (rng.float() < this.options.postDeleteShare) this.pending.push(postDeleteAtUs(rng, atUs), 'deletePost', author, post);
    const parent = catalog.pickReplyParent(post, rng);
    this.stats.counts.post++;
    this.records.writePost(author, post, atUs, createdUs, parent);
    return true;
  }

  private writeLike(atUs: number): void {
    const post = this.picker.pick(LIKE_SALT);
    const user = this.picker.user;
    const createdUs = createdAtUs(this.rng, atUs);
    if (this.rng.float() < this.options.unlikeShare) {
      this.pending.push(unlikeAtUs(this.rng, atUs), 'unlike', user, post, createdUs);
    }
    this.stats.counts.like++;
    if (belongsTo(this.population, user, this.catalog.community[post]!)) this.stats.likesInCommunity++;
    this.records.writeSubject(LIKE_COLLECTION, user, post, atUs, createdUs);
  }

  private writeRepost(atUs: number): void {
    const post = this.picker.pick(REPOST_SALT);
    this.stats.counts.repost++;
    this.records.writeSubject(REPOST_COLLECTION, this.picker.user, post, atUs, createdAtUs(this.rng, atUs));
  }

  /** A random user's account event; a gone account stops acting, and its posts stop collecting likes. */
  private writeAccountEvent(atUs: number): boolean {
    const user = this.rng.below(this.options.users);
    if (!this.population.active[user]) return false;
    this.stats.counts.account++;
    const status = this.rng.float() < ACCOUNT_ACTIVE_SHARE ? undefined : this.rng.pick(ACCOUNT_STATUSES);
    if (status !== undefined) {
      this.population.active[user] = 0;
      this.catalog.removeAllBy(user);
    }
    this.records.writeAccount(user, atUs, status);
    return true;
  }

  private writeMalformed(atUs: number): void {
    const kind = this.malformed.write(atUs, this.nextPost);
    this.stats.counts.malformed++;
    this.stats.malformed[kind]++;
  }
}
