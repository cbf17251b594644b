import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../observability/logger.js';
import { ReplicaLayout } from '../bucket/layout.js';
import { type ObjectStore, objectStoreFor } from '../bucket/object-store.js';
import type { LitestreamSettings } from './settings.js';
import { shadowDirOf } from './shadow-wal.js';

/**
 * Litestream 0.3.13 snapshots a generation when it starts one, then once per snapshot
 * interval. If the generation's objects disappear from the replica (deleted by hand,
 * a lifecycle rule, a bucket recreated), it goes on uploading WAL that no restore can
 * use, until the next interval: meanwhile a fresh volume cannot boot. A plain restart
 * does not help either: it snapshots the same generation, whose first WAL is gone.
 *
 * The guard checks that the replica holds a snapshot of Litestream's current
 * generation. When two checks in a row find none, it says so: the runner then
 * restarts Litestream without its local state, which starts a new generation with
 * a fresh snapshot.
 */
export class SnapshotGuard {
  private missingSince: string | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly layout: ReplicaLayout,
    private readonly shadowDir: string,
    private readonly log: Logger,
  ) {}

  static forSettings(settings: LitestreamSettings, log: Logger): SnapshotGuard {
    const { store, root } = objectStoreFor(settings);
    return new SnapshotGuard(store, new ReplicaLayout(root), shadowDirOf(settings.dbPath), log);
  }

  /**
   * One check: the generation whose snapshot is missing for the second check running,
   * or undefined. A failed listing (the store down) proves nothing and resets nothing.
   */
  async check(): Promise<string | undefined> {
    const generation = currentGeneration(this.shadowDir);
    if (generation === undefined) return undefined; // Litestream has not started one yet
    let listing;
    try {
      listing = await this.store.list(this.layout.snapshotsPrefix(generation));
    } catch (err) {
      this.log.debug({ err }, 'snapshot guard: listing failed');
      return undefined;
    }
    if (listing.objects.some((o) => o.key.endsWith('.snapshot.lz4'))) {
      this.missingSince = undefined;
      return undefined;
    }
    // The first time may be a new generation whose first snapshot is still uploading.
    if (this.missingSince !== generation) {
      this.missingSince = generation;
      return undefined;
    }
    return generation;
  }
}

function currentGeneration(shadowDir: string): string | undefined {
  try {
    const name = fs.readFileSync(path.join(shadowDir, 'generation'), 'utf8').trim();
    return /^[0-9a-f]{16}$/.test(name) ? name : undefined;
  } catch {
    return undefined;
  }
}
