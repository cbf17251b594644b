import type { LikeGraph } from './like-graph.js';

/**
 * Steady-state bytes are kept under this share of the budget, because a compaction
 * holds a direction's old and new lists at once: its peak measured 1.2-1.4 times the
 * bytes before it (scripts/bench/graph-budget.ts), so 2/3 leaves the peak under budget.
 */
export const STEADY_SHARE = 2 / 3;
/** A raise prunes down to this share of the target, so it does not prune again at the next poll. */
export const PRUNE_TO = 0.9;
/** Pruning by id spreads the likes held evenly over their ids; a few passes correct for where they are not. */
const PRUNE_PASSES = 3;

/**
 * The graph's memory floor: when the likes it holds would pass the target, the oldest
 * are dropped (likes arrive in id order), so the graph keeps the newest likes that fit.
 * The floor only goes up; the database keeps every like, and a restart's load sets the
 * floor afresh.
 */
export class MemoryBudget {
  readonly targetBytes: number;
  private floor = 0;
  private dropped = 0;
  /** memoryBytes / likeCount when last measured on a settled graph. */
  private bytesPerLike: number | undefined;

  constructor(readonly budgetBytes: number) {
    if (!(budgetBytes > 0)) throw new Error(`graph memory budget must be positive, not ${budgetBytes}`);
    this.targetBytes = Math.floor(budgetBytes * STEADY_SHARE);
  }

  /** Likes at or below this id were dropped for memory (0: none). */
  get floorId(): number {
    return this.floor;
  }

  /** A graph read back from a snapshot starts at the memory floor it was saved with. */
  resume(floorId: number): void {
    this.floor = Math.max(this.floor, floorId);
  }

  /** Live likes dropped for memory since this budget began. */
  get likesDropped(): number {
    return this.dropped;
  }

  /**
   * Raises the floor if the graph's bytes would pass the target; returns whether it did.
   * `settled`: memoryBytes() is what the likes held cost (no compaction under way, none
   * owed for an earlier raise: pruned frozen likes keep their list entries until the next
   * compaction). Unsettled, the last measured bytes per like stand in.
   */
  enforce(graph: LikeGraph, settled: boolean): boolean {
    if (graph.likeCount === 0) return false;
    if (settled || this.bytesPerLike === undefined) this.bytesPerLike = graph.memoryBytes() / graph.likeCount;
    if (graph.likeCount * this.bytesPerLike <= this.targetBytes) return false;

    const keep = Math.floor((PRUNE_TO * this.targetBytes) / this.bytesPerLike);
    const before = graph.likeCount;
    for (let pass = 0; pass < PRUNE_PASSES && graph.likeCount > keep; pass++) {
      const idsPerLike = (graph.newestLikeId - graph.floorId) / graph.likeCount;
      graph.pruneThrough(Math.ceil(graph.newestLikeId - keep * idsPerLike));
    }
    this.floor = Math.max(this.floor, graph.floorId);
    this.dropped += before - graph.likeCount;
    return true;
  }
}
