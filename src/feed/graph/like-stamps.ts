/**
 * What the graph keeps of each frozen like (one compacted into the lists, its slot
 * freed) besides the lists' entries: two bytes per like id, saying whether the like is
 * still live and when it was made.
 *
 * A stamp is a Uint16: bit 15 set means dead (unliked, or an id that never came: a like
 * deleted before the graph read it, an AUTOINCREMENT gap). Bits 0..14 are the time in
 * the like's block of 4096 ids: (timeS - base) >> shift, with base the block's earliest
 * time and shift the smallest that fits the block's span in 15 bits. At the firehose
 * rate a block spans seconds, so shift is 0 and times are exact; a sparse stream gets
 * its times rounded down by less than 2^shift seconds.
 *
 * Stamps live in chunks of 65,536 ids, freed once the floor (the prune watermark)
 * passes them.
 */
import { ChunkTable } from './chunk-table.js';

const CHUNK_BITS = 16;
const CHUNK_IDS = 1 << CHUNK_BITS;
const BLOCK_BITS = 12;
/** Ids per block: one base time and one shift each. */
const STAMP_BLOCK_IDS = 1 << BLOCK_BITS;
const BLOCKS_PER_CHUNK = CHUNK_IDS / STAMP_BLOCK_IDS;
export const DEAD_STAMP = 0x8000;
const VALUE_MASK = 0x7fff;
const STAMP_BYTES = 2;

interface StampChunk {
  stamps: Uint16Array;
  base: Uint32Array;
  /** 2^shift per block. */
  scale: Uint32Array;
}

const chunkIndex = (id: number): number => Math.floor(id / CHUNK_IDS);

/** The stamps as arrays, for a snapshot of the graph: the chunks held, by chunk index. */
export interface LikeStampsState {
  through: number;
  floor: number;
  chunks: Array<StampChunk & { index: number }>;
}

/** The time of a like, or 0 if it is dead or never came (slot times are never 0). */
export type TimeOfLike = (id: number) => number;

export class LikeStamps {
  private chunks = new ChunkTable<StampChunk>();
  /** Ids above the floor and at or below this have a stamp. */
  private through = 0;
  private floor = 0;

  get stampedThrough(): number {
    return this.through;
  }

  /** The stamp of an id in (floor, stampedThrough]: DEAD_STAMP bit, then the block value. */
  stampOf(id: number): number {
    const chunk = this.chunks.get(chunkIndex(id));
    return chunk ? chunk.stamps[id - chunkIndex(id) * CHUNK_IDS]! : DEAD_STAMP;
  }

  /** The time of a stamped like, or -1 when it is dead: one look-up, for the read loop. */
  timeIfLive(id: number): number {
    const c = chunkIndex(id);
    const chunk = this.chunks.get(c);
    if (!chunk) return -1;
    const slot = id - c * CHUNK_IDS;
    const stamp = chunk.stamps[slot]!;
    if (stamp & DEAD_STAMP) return -1;
    const block = slot >> BLOCK_BITS;
    return chunk.base[block]! + stamp * chunk.scale[block]!;
  }

  /** The time of a live frozen like (its stamp decoded). */
  timeOf(id: number): number {
    const c = chunkIndex(id);
    const chunk = this.chunks.get(c)!;
    const slot = id - c * CHUNK_IDS;
    const block = slot >> BLOCK_BITS;
    return chunk.base[block]! + (chunk.stamps[slot]! & VALUE_MASK) * chunk.scale[block]!;
  }

  /** Marks a stamped like dead; true when it was live (so the caller counts it once). */
  kill(id: number): boolean {
    if (id <= this.floor || id > this.through) return false;
    const c = chunkIndex(id);
    const chunk = this.chunks.get(c);
    if (!chunk) return false;
    const slot = id - c * CHUNK_IDS;
    if (chunk.stamps[slot]! & DEAD_STAMP) return false;
    chunk.stamps[slot]! |= DEAD_STAMP;
    return true;
  }

  /** Live likes among the stamped ids in [fromId, toId]. */
  countLive(fromId: number, toId: number): number {
    let live = 0;
    const from = Math.max(fromId, this.floor + 1);
    const to = Math.min(toId, this.through);
    for (let c = chunkIndex(from); c <= chunkIndex(to) && from <= to; c++) {
      const chunk = this.chunks.get(c);
      if (!chunk) continue;
      const first = Math.max(from, c * CHUNK_IDS) - c * CHUNK_IDS;
      const last = Math.min(to, c * CHUNK_IDS + CHUNK_IDS - 1) - c * CHUNK_IDS;
      const { stamps } = chunk;
      for (let s = first; s <= last; s++) if ((stamps[s]! & DEAD_STAMP) === 0) live++;
    }
    return live;
  }

  /**
   * Stamps ids (stampedThrough, toId] from `timeOf`, which may also be asked for ids
   * up to `knownThrough` in the last block (so a block cut by `toId` gets a base and
   * shift that fit its later likes too). A block stamped in two goes keeps its base and
   * shift if the new likes fit them; otherwise its earlier stamps are written again.
   */
  stamp(toId: number, knownThrough: number, timeOf: TimeOfLike): void {
    let id = Math.max(this.through, this.floor) + 1;
    while (id <= toId) {
      const blockStart = Math.floor(id / STAMP_BLOCK_IDS) * STAMP_BLOCK_IDS;
      const blockEnd = blockStart + STAMP_BLOCK_IDS - 1;
      const last = Math.min(toId, blockEnd);
      this.stampBlockPart(blockStart, id, last, Math.min(blockEnd, Math.max(knownThrough, last)), timeOf);
      id = last + 1;
    }
    this.through = Math.max(this.through, toId);
  }

  /** Everything at or below `floorId` is pruned: frees whole chunks. */
  pruneThrough(floorId: number): void {
    this.floor = Math.max(this.floor, floorId);
    this.chunks.dropBelow(chunkIndex(this.floor + 1));
  }

  bytes(): number {
    let bytes = 0;
    this.chunks.forEach((chunk) => (bytes += CHUNK_IDS * STAMP_BYTES + chunk.base.byteLength + chunk.scale.byteLength));
    return bytes;
  }

  /** The chunks as they are (no copy). */
  exportState(): LikeStampsState {
    const chunks: LikeStampsState['chunks'] = [];
    this.chunks.forEach((chunk, index) => chunks.push({ index, ...chunk }));
    return { through: this.through, floor: this.floor, chunks };
  }

  /** Takes over the chunks of exportState (a snapshot read back). */
  restoreState(state: LikeStampsState): void {
    const chunks = new ChunkTable<StampChunk>();
    for (const { index, stamps, base, scale } of state.chunks) {
      if (!(Number.isInteger(index) && index >= 0) || stamps.length !== CHUNK_IDS || base.length !== BLOCKS_PER_CHUNK || scale.length !== BLOCKS_PER_CHUNK) {
        throw new Error(`stamp chunk ${index}: ${stamps.length} stamps, ${base.length} blocks`);
      }
      chunks.set(index, { stamps, base, scale });
    }
    this.chunks = chunks;
    this.through = state.through;
    this.floor = state.floor;
  }

  /** Stamps [from, last] of one block; ids in (last, lookahead] only widen the block's time span. */
  private stampBlockPart(blockStart: number, from: number, last: number, lookahead: number, timeOf: TimeOfLike): void {
    const c = chunkIndex(blockStart);
    const chunk = this.chunkFor(c);
    const block = (blockStart - c * CHUNK_IDS) >> BLOCK_BITS;
    const offset = c * CHUNK_IDS;
    let min = Infinity;
    let max = -Infinity;
    for (let id = from; id <= lookahead; id++) {
      const t = timeOf(id);
      if (t === 0) continue;
      if (t < min) min = t;
      if (t > max) max = t;
    }
    // The block's earlier part (above the floor) was stamped by an earlier compaction.
    const earlierFrom = Math.max(blockStart, this.floor + 1);
    const earlier = from > earlierFrom;
    if (earlier && min !== Infinity) {
      const base = chunk.base[block]!;
      if (min < base || Math.floor((max - base) / chunk.scale[block]!) > VALUE_MASK) {
        for (let id = earlierFrom; id < from; id++) {
          if (chunk.stamps[id - offset]! & DEAD_STAMP) continue;
          const t = this.timeOf(id);
          if (t < min) min = t;
          if (t > max) max = t;
        }
        const [newBase, newScale] = fit(min, max);
        for (let id = earlierFrom; id < from; id++) {
          const s = id - offset;
          if (chunk.stamps[s]! & DEAD_STAMP) continue;
          chunk.stamps[s] = Math.floor((this.timeOf(id) - newBase) / newScale);
        }
        chunk.base[block] = newBase;
        chunk.scale[block] = newScale;
      }
    } else if (!earlier) {
      [chunk.base[block], chunk.scale[block]] = min === Infinity ? [0, 1] : fit(min, max);
    }
    const base = chunk.base[block]!;
    const scale = chunk.scale[block]!;
    for (let id = from; id <= last; id++) {
      const t = timeOf(id);
      // (The clamp is a guard: the base and scale fit every time seen above.)
      chunk.stamps[id - offset] = t === 0 ? DEAD_STAMP : Math.min(VALUE_MASK, Math.max(0, Math.floor((t - base) / scale)));
    }
  }

  private chunkFor(c: number): StampChunk {
    let chunk = this.chunks.get(c);
    if (!chunk) {
      chunk = { stamps: new Uint16Array(CHUNK_IDS).fill(DEAD_STAMP), base: new Uint32Array(BLOCKS_PER_CHUNK), scale: new Uint32Array(BLOCKS_PER_CHUNK) };
      this.chunks.set(c, chunk);
    }
    return chunk;
  }
}

/** The base and the smallest power-of-two scale that fit [min, max] in 15 bits. */
function fit(min: number, max: number): [number, number] {
  let scale = 1;
  while (Math.floor((max - min) / scale) > VALUE_MASK) scale *= 2;
  return [min, scale];
}
