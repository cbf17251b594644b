import fs from 'node:fs';
import type { Logger } from '../../observability/logger.js';
import { litestreamBinary } from './binary.js';
import type { LitestreamSettings } from './settings.js';
import { shadowDirOf } from './shadow-wal.js';
import { type ExitStatus, type Supervised, supervise } from './supervisor.js';

/** Waits before restarting a Litestream that exited on its own: the nth exit in a row waits the nth. */
const RESTART_DELAYS_MS = [1000, 2000, 5000, 10_000, 30_000];
/** A run this long was healthy: its exit starts the waits over. */
const HEALTHY_RUN_MS = 60_000;

export interface ReplicatorExit {
  status: ExitStatus;
  /** Litestream logged 0.3.13's close-time checkpoint bug (see isKnownCloseBug). */
  closeBugSeen: boolean;
}

interface Run {
  litestream: Supervised;
  startedMs: number;
  /** Stopped on purpose: its exit is not a failure to restart from. */
  ending: boolean;
  closeBugSeen: boolean;
}

/**
 * `litestream replicate` beside the service, not its parent, so that it can stop and start
 * while the service goes on serving and ingesting. It is kept running: an exit nobody
 * asked for is logged as an error and restarted after a backoff (a primary that does not
 * replicate must not go unnoticed; the service counts restarts in
 * feedgen_litestream_restarts_total). One operation at a time: a new generation and the
 * final stop never overlap.
 */
export class Replicator {
  private readonly binary = litestreamBinary();
  private run: Run | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;
  private exitsInARow = 0;
  private stopped = false;

  /** `keepUp` false: an exit is not restarted (the launcher is stopping, and Litestream may have had the signal too). */
  constructor(
    private readonly settings: LitestreamSettings,
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: Logger,
    private readonly keepUp: () => boolean,
  ) {}

  start(): void {
    this.launch();
  }

  /**
   * Stops Litestream, removes its local state and starts it again: a new generation, snapshot
   * first. `graceMs` is short: the old generation cannot be restored from, so its final sync
   * is not worth waiting for.
   */
  newGeneration(graceMs: number): Promise<void> {
    return this.serially(async () => {
      if (this.stopped) return;
      clearTimeout(this.restartTimer);
      await this.end(graceMs);
      fs.rmSync(shadowDirOf(this.settings.dbPath), { recursive: true, force: true });
      if (!this.stopped) this.launch();
    });
  }

  /** The last stop (SIGTERM: its final sync, then SIGKILL after `graceMs`); how the last run ended. */
  stop(graceMs: number): Promise<ReplicatorExit> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    return this.serially(() => this.end(graceMs));
  }

  private serially<T>(operation: () => Promise<T>): Promise<T> {
    const next = this.queue.then(operation);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private launch(): void {
    // stderr is Litestream's log: passed through, and read for the one failure that is not one.
    const litestream = supervise(this.binary, ['replicate', '-config', this.settings.configPath], { env: this.env, stdio: ['ignore', 'inherit', 'pipe'] });
    const run: Run = { litestream, startedMs: Date.now(), ending: false, closeBugSeen: false };
    forwardLines(litestream.child.stderr!, process.stderr, (line) => (run.closeBugSeen ||= isKnownCloseBug(line)));
    this.run = run;
    void litestream.exited.then((status) => this.onExit(run, status));
  }

  private async end(graceMs: number): Promise<ReplicatorExit> {
    const run = this.run!;
    run.ending = true;
    const status = await run.litestream.stop(graceMs);
    return { status, closeBugSeen: run.closeBugSeen };
  }

  private onExit(run: Run, status: ExitStatus): void {
    if (run.ending || this.stopped || !this.keepUp()) return;
    const ranMs = Date.now() - run.startedMs;
    if (ranMs >= HEALTHY_RUN_MS) this.exitsInARow = 0;
    const delayMs = RESTART_DELAYS_MS[Math.min(this.exitsInARow, RESTART_DELAYS_MS.length - 1)]!;
    this.exitsInARow += 1;
    this.log.error({ status, ranMs, restartInMs: delayMs }, 'litestream exited on its own: nothing replicates until it is restarted');
    this.restartTimer = setTimeout(() => {
      void this.serially(async () => {
        // A new generation or the stop may have come first.
        if (this.stopped || this.run !== run) return;
        this.log.info('restarting litestream');
        this.launch();
      });
    }, delayMs);
  }
}

/**
 * Litestream 0.3.13 re-takes its read lock with an already-cancelled context when its final
 * sync checkpoints (WAL past 1,000 pages, or a minute since the last checkpoint), and exits 1
 * with this error. It comes from the database sync, after the WAL was copied; the replicas'
 * final sync still runs after it.
 */
export function isKnownCloseBug(line: string): boolean {
  return /msg="failed to run" error="checkpoint: mode=\w+ err=release read lock: context canceled"/.test(line);
}

function forwardLines(from: NodeJS.ReadableStream, to: NodeJS.WritableStream, onLine: (line: string) => void): void {
  let partial = '';
  from.on('data', (chunk: Buffer) => {
    to.write(chunk);
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    lines.forEach(onLine);
  });
  from.on('end', () => partial && onLine(partial));
}
