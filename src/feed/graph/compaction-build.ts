/**
 * A compaction, in slices so the event loop keeps serving: the likes in slots up to
 * `throughId` move into the frozen part (stamps and compacted lists), so their 32-byte
 * slots can be freed.
 *
 *  1. Stamp the ids (compacted, throughId]: liveness and time (like-stamps.ts).
 *  2. By actor: new lists = the old lists' live entries + the slots' likes in the range.
 *     Count each key's entries, then place them; swap the lists in.
 *  3. By post, the same, once the old by-actor lists are gone: at the peak the graph
 *     holds the old lists of both directions and the new lists of one.
 *  4. Count each key's live likes above `throughId` (still in slots), so the graph can
 *     bring its per-key counts back down (pruning frozen likes leaves them high).
 *
 * Likes removed between a count and a fill leave holes (skipped by reads). Likes
 * added meanwhile are above `throughId` and stay in slots.
 */
import { CompactLists } from './compact-lists.js';

export const BY_ACTOR = 0;
export const BY_POST = 1;
export type Direction = typeof BY_ACTOR | typeof BY_POST;

/** A like in a slot, oldest first: `postRow` is the row of its post in the graph. */
export type VisitLike = (id: number, actor: number, postRow: number, timeS: number) => void;

/** What a compaction reads from and writes to: the graph. */
export interface CompactionHost {
  readonly floorId: number;
  readonly newestLikeId: number;
  readonly stampedThrough: number;
  /** Visits the live likes held in slots with ids in [fromId, toId], oldest first. */
  forEachLikeInRange(fromId: number, toId: number, visit: VisitLike): void;
  /** Whether a like of the frozen part (stamped) is live. */
  isFrozenLikeLive(id: number): boolean;
  /** Stamps the slots' likes through `toId`. */
  stampThrough(toId: number): void;
  listsOf(direction: Direction): CompactLists | undefined;
  installLists(direction: Direction, lists: CompactLists): void;
  /** Keys of a direction: actor ids (the arrays' length), or post rows in use. */
  keyCount(direction: Direction): number;
  /** Called after each slice, for the peak of memory held during a compaction. */
  noteMemory(): void;
}

/** Ids, or list entries, read per slice of work, between two checks of the clock. */
const WORK_PER_SLICE = 65_536;
/** The most a like id may lie above its lists' idBase: offsets are uint32. */
const MAX_OFFSET = 0xffff_ffff;

/** Live likes above the compaction's range, per key, counted from the slots. */
export interface YoungCounts {
  actors: Int32Array;
  postRows: Int32Array;
}

export class CompactionBuild {
  private phase: 'stamp' | 'lists' | 'young' | 'done' = 'stamp';
  private direction: DirectionBuild | undefined;
  private readonly young: YoungCounts;
  private youngThrough: number;

  constructor(
    private readonly host: CompactionHost,
    readonly throughId: number,
  ) {
    this.young = { actors: new Int32Array(0), postRows: new Int32Array(0) };
    this.youngThrough = throughId;
  }

  /** Does one slice of work, then more until `deadlineMs` (performance.now()) passes; true once finished. */
  step(deadlineMs: number): boolean {
    do {
      if (this.phase === 'done') break;
      this.slice();
      this.host.noteMemory();
    } while (performance.now() < deadlineMs);
    return this.phase === 'done';
  }

  /** The transient arrays held: the lists under construction and the counts. */
  bytes(): number {
    return (this.direction?.bytes() ?? 0) + this.young.actors.byteLength + this.young.postRows.byteLength;
  }

  /** Counts the likes added since the last slice too; for the graph's finish. */
  youngCounts(): YoungCounts {
    if (this.phase !== 'done') throw new Error('compaction not finished');
    this.countYoung(this.host.newestLikeId);
    return this.young;
  }

  private slice(): void {
    const { host } = this;
    switch (this.phase) {
      case 'stamp': {
        host.stampThrough(Math.min(this.throughId, Math.max(host.stampedThrough, host.floorId) + WORK_PER_SLICE));
        if (host.stampedThrough >= this.throughId) {
          this.phase = 'lists';
          this.direction = new DirectionBuild(host, BY_ACTOR, this.throughId);
        }
        return;
      }
      case 'lists': {
        const build = this.direction!;
        if (!build.slice()) return;
        host.installLists(build.key, build.result());
        if (build.key === BY_ACTOR) this.direction = new DirectionBuild(host, BY_POST, this.throughId);
        else {
          this.direction = undefined;
          this.phase = 'young';
          this.young.actors = new Int32Array(host.keyCount(BY_ACTOR));
          this.young.postRows = new Int32Array(host.keyCount(BY_POST));
        }
        return;
      }
      case 'young': {
        this.countYoung(Math.min(host.newestLikeId, this.youngThrough + WORK_PER_SLICE));
        if (this.youngThrough >= host.newestLikeId) this.phase = 'done';
        return;
      }
      case 'done':
        return;
    }
  }

  private countYoung(toId: number): void {
    const { actors, postRows } = this.young;
    // Keys past the arrays came in after they were made: all their likes are young.
    this.host.forEachLikeInRange(this.youngThrough + 1, toId, (_id, actor, row) => {
      if (actor < actors.length) actors[actor]!++;
      if (row < postRows.length) postRows[row]!++;
    });
    this.youngThrough = Math.max(this.youngThrough, toId);
  }
}

/**
 * The lists of one direction: the likes in slots with ids in (old lists' throughId,
 * throughId] come first in each key's list (newest first), then the old list's live
 * entries, which are all older.
 */
class DirectionBuild {
  private phase: 'count-young' | 'count-old' | 'fill-old' | 'fill-young' | 'done' = 'count-young';
  private readonly old: CompactLists | undefined;
  private readonly fromId: number;
  private readonly idBase: number;
  private nextId: number;
  private nextKey = 0;
  /** Per key: young likes counted; while filling, young likes still to place. */
  private readonly youngCount: Int32Array;
  /** Per key: old live entries at start[key + 1] while counting; then the lists' start. */
  private readonly start: Int32Array;
  private other: Int32Array | undefined;
  private idOffset: Uint32Array | undefined;

  constructor(
    private readonly host: CompactionHost,
    readonly key: Direction,
    private readonly throughId: number,
  ) {
    this.old = host.listsOf(key);
    // Nothing at or below the floor is left to place (the first lists start at the graph's first like).
    this.fromId = Math.max(this.old?.throughId ?? 0, host.floorId) + 1;
    this.nextId = this.fromId;
    this.idBase = host.floorId;
    if (throughId - this.idBase > MAX_OFFSET) throw new Error(`compaction: like ids span more than 2^32 above the floor (${this.idBase} to ${throughId})`);
    const keys = host.keyCount(key);
    this.youngCount = new Int32Array(keys);
    this.start = new Int32Array(keys + 1);
  }

  /** One slice of work; true once the lists are complete. */
  slice(): boolean {
    switch (this.phase) {
      case 'count-young':
      case 'fill-young': {
        const toId = Math.min(this.throughId, this.nextId + WORK_PER_SLICE - 1);
        if (this.phase === 'count-young') this.countYoung(this.nextId, toId);
        else this.fillYoung(this.nextId, toId);
        this.nextId = toId + 1;
        if (this.nextId > this.throughId) this.phase = this.phase === 'count-young' ? 'count-old' : 'done';
        break;
      }
      case 'count-old':
      case 'fill-old': {
        const keys = Math.min(this.old?.keys ?? 0, this.youngCount.length);
        let work = 0;
        for (; this.nextKey < keys && work < WORK_PER_SLICE; this.nextKey++) {
          work += this.phase === 'count-old' ? this.countOld(this.nextKey) : this.fillOld(this.nextKey);
        }
        if (this.nextKey < keys) break;
        this.nextKey = 0;
        if (this.phase === 'count-old') {
          this.allocate();
          this.phase = 'fill-old';
        } else {
          this.phase = 'fill-young';
          this.nextId = this.fromId;
        }
        break;
      }
      case 'done':
        break;
    }
    return this.phase === 'done';
  }

  result(): CompactLists {
    if (this.phase !== 'done') throw new Error('lists not built');
    return new CompactLists(this.throughId, this.idBase, this.start, this.other!, this.idOffset!);
  }

  bytes(): number {
    return this.youngCount.byteLength + this.start.byteLength + (this.other?.byteLength ?? 0) + (this.idOffset?.byteLength ?? 0);
  }

  private countYoung(fromId: number, toId: number): void {
    const { youngCount } = this;
    const visit: VisitLike =
      this.key === BY_ACTOR
        ? (_id, actor) => {
            if (actor < youngCount.length) youngCount[actor]!++;
          }
        : (_id, _actor, row) => {
            if (row < youngCount.length) youngCount[row]!++;
          };
    this.host.forEachLikeInRange(fromId, toId, visit);
  }

  /** Counts the live entries of the key's old list into start[key + 1]; returns the entries read. */
  private countOld(key: number): number {
    const old = this.old!;
    const { host } = this;
    const floor = host.floorId;
    const end = old.start[key + 1]!;
    let live = 0;
    for (let j = old.start[key]!; j < end; j++) {
      const id = old.idBase + old.idOffset[j]!;
      if (id > floor && host.isFrozenLikeLive(id)) live++;
    }
    this.start[key + 1] = live;
    return end - old.start[key]! + 1;
  }

  /** Turns the counts into each key's start, and makes the arrays. */
  private allocate(): void {
    const { start, youngCount } = this;
    let sum = 0;
    for (let k = 0; k < youngCount.length; k++) {
      sum += start[k + 1]! + youngCount[k]!;
      start[k + 1] = sum;
    }
    this.other = new Int32Array(sum);
    this.idOffset = new Uint32Array(sum);
  }

  /** Copies the key's old live entries after its young ones; returns the entries read. */
  private fillOld(key: number): number {
    const old = this.old!;
    const { host, other, idOffset, idBase } = this;
    const floor = host.floorId;
    let at = this.start[key]! + this.youngCount[key]!;
    const stop = this.start[key + 1]!;
    const first = old.start[key]!;
    const end = old.start[key + 1]!;
    let j = first;
    // Never more than counted: a like live now was live when counted.
    for (; j < end && at < stop; j++) {
      const id = old.idBase + old.idOffset[j]!;
      if (id <= floor || !host.isFrozenLikeLive(id)) continue;
      other![at] = old.other[j]!;
      idOffset![at++] = id - idBase;
    }
    return j - first + 1;
  }

  /** Places the young likes of the range, oldest first, backwards from each key's young end. */
  private fillYoung(fromId: number, toId: number): void {
    const { youngCount, start, idBase } = this;
    const other = this.other!;
    const idOffset = this.idOffset!;
    const place = (key: number, otherId: number, id: number) => {
      if (key >= youngCount.length || youngCount[key]! === 0) return;
      const at = start[key]! + --youngCount[key]!;
      other[at] = otherId;
      idOffset[at] = id - idBase;
    };
    const visit: VisitLike =
      this.key === BY_ACTOR ? (id, actor, row) => place(actor, row, id) : (id, actor, row) => place(row, actor, id);
    this.host.forEachLikeInRange(fromId, toId, visit);
  }
}
