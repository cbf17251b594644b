import { statfs } from 'node:fs/promises';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';

/** How often the volume is measured: at the bench rate the shadow WAL grows ~5 MB a second. */
const CHECK_INTERVAL_MS = 1000;
/** Ingest resumes this many points below the pause threshold, so it does not flap at the edge. */
const RESUME_MARGIN_PERCENT = 5;

export interface DiskGuardOptions {
  /** A folder on the data volume. */
  dir: string;
  /** Pause above this share of the volume in use (percent); 100 turns the guard off. */
  pausePercent: number;
  metrics: Metrics;
  log: Logger;
  /** Called when the verdict changes: true to hold ingest, false to let it go on. */
  onChange: (hold: boolean) => void;
  /** The volume's use as a share (tests give their own). */
  usedShare?: (dir: string) => Promise<number>;
}

/**
 * Watches the data volume. When the bucket is down, Litestream keeps every WAL page it
 * could not upload in its shadow WAL beside the database: at the firehose's rate that
 * fills a volume in hours. Pausing ingest before the disk is full keeps the room that
 * Litestream, the heartbeat and SQLite's own journal need; Jetstream keeps the events
 * and ingest resumes from its cursor once the upload drains the shadow WAL.
 */
export class DiskGuard {
  private timer: NodeJS.Timeout | undefined;
  private holding = false;
  private readonly usedShare: (dir: string) => Promise<number>;

  constructor(private readonly options: DiskGuardOptions) {
    this.usedShare = options.usedShare ?? volumeUsedShare;
  }

  start(): void {
    if (this.options.pausePercent >= 100) return;
    const tick = () => {
      void this.check().finally(() => {
        if (this.timer) this.timer = setTimeout(tick, CHECK_INTERVAL_MS).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One measurement; also what tests call. */
  async check(): Promise<void> {
    const { dir, pausePercent, metrics, log, onChange } = this.options;
    let percent: number;
    try {
      const share = await this.usedShare(dir);
      metrics.dataVolumeUsedRatio.set(share);
      percent = share * 100;
    } catch (err) {
      log.warn({ err, dir }, 'disk guard: cannot measure the data volume');
      return;
    }
    const hold = this.holding ? percent >= pausePercent - RESUME_MARGIN_PERCENT : percent >= pausePercent;
    if (hold === this.holding) return;
    this.holding = hold;
    if (hold) log.warn({ usedPercent: round(percent), pausePercent }, 'data volume nearly full: ingest paused until it drains (DISK_GUARD_PERCENT)');
    else log.info({ usedPercent: round(percent) }, 'data volume has room again: ingest resumes');
    onChange(hold);
  }
}

/** Used share of the file system holding `dir`, as `df` counts it (blocks root keeps back are not free). */
export async function volumeUsedShare(dir: string): Promise<number> {
  const { blocks, bfree, bavail } = await statfs(dir);
  const usable = blocks - bfree + bavail;
  return usable > 0 ? (blocks - bfree) / usable : 0;
}

function round(percent: number): number {
  return Math.round(percent * 10) / 10;
}
