import { generationOf, type Position, type ReplicaLayout, snapshotIndexOf, walSegmentOf } from '../bucket/layout.js';
import type { ObjectStore } from '../bucket/object-store.js';

export interface NewestSnapshot {
  generation: string;
  snapshotIndex: number;
}

/** The generation with the newest snapshot (the primary's current one), and that snapshot. */
export async function newestGeneration(store: ObjectStore, layout: ReplicaLayout): Promise<NewestSnapshot | undefined> {
  let best: (NewestSnapshot & { atMs: number }) | undefined;
  for (const prefix of (await store.list(layout.generationsPrefix())).prefixes) {
    const generation = generationOf(prefix);
    if (!generation) continue;
    for (const object of (await store.list(layout.snapshotsPrefix(generation))).objects) {
      const snapshotIndex = snapshotIndexOf(object.key);
      if (snapshotIndex === undefined) continue;
      if (!best || object.lastModifiedMs > best.atMs || (object.lastModifiedMs === best.atMs && snapshotIndex > best.snapshotIndex)) {
        best = { generation, snapshotIndex, atMs: object.lastModifiedMs };
      }
    }
  }
  return best && { generation: best.generation, snapshotIndex: best.snapshotIndex };
}

/** Why the copy cannot go on from its position: it needs a fresh restore. */
export type GenerationChange = { reason: 'new_generation'; generation: string } | { reason: 'retention_gap' };

/**
 * What fetching segments by key cannot see, looked for (by listing) once nothing new has
 * come for a stall period: the primary started a new generation, or retention deleted
 * segments the copy still needs while later ones are there.
 */
export class GenerationWatch {
  private lastProgressMs = Date.now();

  constructor(
    private readonly store: ObjectStore,
    private readonly layout: ReplicaLayout,
    private readonly stallMs: number,
  ) {}

  /** The copy moved on: the stall period starts again. */
  progressed(): void {
    this.lastProgressMs = Date.now();
  }

  /** At most one look per stall period without progress (listings cost ten GETs). */
  async check(here: Position): Promise<GenerationChange | undefined> {
    if (Date.now() - this.lastProgressMs <= this.stallMs) return undefined;
    this.lastProgressMs = Date.now();
    const newest = await newestGeneration(this.store, this.layout);
    if (newest && newest.generation !== here.generation) return { reason: 'new_generation', generation: newest.generation };
    const listing = await this.store.list(this.layout.walPrefix(here.generation));
    const ahead = listing.objects
      .map((o) => walSegmentOf(o.key))
      .some((s) => s !== undefined && (s.index > here.index + 1 || (s.index === here.index + 1 && s.offset > 0)));
    return ahead ? { reason: 'retention_gap' } : undefined;
  }
}
