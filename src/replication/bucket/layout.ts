/**
 * Litestream 0.3's key layout under a replica's path:
 *   generations/<16 hex>/snapshots/<index: 8 hex>.snapshot.lz4
 *   generations/<16 hex>/wal/<index: 8 hex>_<offset: 8 hex>.wal.lz4
 * A WAL index is one life of the primary's WAL (between restarts by checkpoints); its
 * segments are contiguous byte ranges of it, so the next key follows from the last.
 */
export interface Position {
  generation: string;
  index: number;
  /** Bytes of the index already applied (the next segment's offset). */
  offset: number;
}

export class ReplicaLayout {
  constructor(private readonly root: string) {}

  generationsPrefix(): string {
    return this.join('generations/');
  }

  snapshotsPrefix(generation: string): string {
    return this.join(`generations/${generation}/snapshots/`);
  }

  walPrefix(generation: string): string {
    return this.join(`generations/${generation}/wal/`);
  }

  walKey({ generation, index, offset }: Position): string {
    return `${this.walPrefix(generation)}${hex8(index)}_${hex8(offset)}.wal.lz4`;
  }

  snapshotKey(generation: string, index: number): string {
    return `${this.snapshotsPrefix(generation)}${hex8(index)}.snapshot.lz4`;
  }

  private join(rest: string): string {
    return this.root ? `${this.root}/${rest}` : rest;
  }
}

/** The generation named by a `.../generations/<gen>/` prefix. */
export function generationOf(prefix: string): string | undefined {
  return /generations\/([0-9a-f]{16})\/$/.exec(prefix)?.[1];
}

/** The index of a `<index>.snapshot.lz4` key. */
export function snapshotIndexOf(key: string): number | undefined {
  const match = /\/([0-9a-f]{8})\.snapshot\.lz4$/.exec(key);
  return match ? parseInt(match[1]!, 16) : undefined;
}

/** Index and offset of a `<index>_<offset>.wal.lz4` key. */
export function walSegmentOf(key: string): { index: number; offset: number } | undefined {
  const match = /\/([0-9a-f]{8})_([0-9a-f]{8})\.wal\.lz4$/.exec(key);
  return match ? { index: parseInt(match[1]!, 16), offset: parseInt(match[2]!, 16) } : undefined;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}
