/**
 * Watches Litestream's own Prometheus endpoint (Litestream runs beside the service on the
 * primary) so the service's /metrics shows replication health beside everything else.
 *
 * Litestream 0.3.13 counts failed WAL syncs and checkpoints, but not failed uploads: those
 * are only logged. What an operator needs to see is whether the replica still moves, and
 * the heartbeat row changes the WAL every second, so a replica position that stops
 * advancing for longer than the sync interval means uploads are failing. The launcher
 * restarts a Litestream that dies, and one whose generation lost its snapshots: each new
 * process start time is counted, so a primary that keeps losing its replicator shows.
 */
import type { Metrics } from '../../observability/metrics.js';

export interface LitestreamReading {
  syncErrors: number;
  checkpointErrors: number;
  /** `<wal index>/<offset>` of the replica: changes whenever a segment is uploaded. */
  replicaPosition: string | undefined;
  /** When this Litestream process started (seconds since the epoch): another value, another process. */
  startTimeSeconds: number | undefined;
}

const POLL_INTERVAL_MS = 1000;
const PROBE_TIMEOUT_MS = 1000;

/** http://host:port/metrics for Litestream's `addr` (":9090" means this machine); undefined when off. */
export function litestreamMetricsUrl(addr: string): string | undefined {
  if (addr === '') return undefined;
  const host = addr.startsWith(':') ? `127.0.0.1${addr}` : addr;
  return `http://${host}/metrics`;
}

export class LitestreamMonitor {
  private timer: NodeJS.Timeout | undefined;
  private position: string | undefined;
  private positionSinceMs = Date.now();
  private startTimeSeconds: number | undefined;

  constructor(
    private readonly url: string,
    private readonly metrics: Metrics,
  ) {}

  start(): void {
    const poll = () => void this.poll().finally(() => (this.timer = setTimeout(poll, POLL_INTERVAL_MS).unref()));
    poll();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private async poll(): Promise<void> {
    const reading = await readLitestream(this.url);
    const { metrics } = this;
    metrics.litestreamUp.set(reading ? 1 : 0);
    if (!reading) return;
    metrics.litestreamSyncErrors.set({ kind: 'sync' }, reading.syncErrors);
    metrics.litestreamSyncErrors.set({ kind: 'checkpoint' }, reading.checkpointErrors);
    const now = Date.now();
    if (reading.replicaPosition !== this.position) {
      this.position = reading.replicaPosition;
      this.positionSinceMs = now;
    }
    metrics.litestreamReplicaStalledSeconds.set((now - this.positionSinceMs) / 1000);
    if (reading.startTimeSeconds !== undefined) {
      if (this.startTimeSeconds !== undefined && reading.startTimeSeconds !== this.startTimeSeconds) metrics.litestreamRestarts.inc();
      this.startTimeSeconds = reading.startTimeSeconds;
    }
  }
}

/** One reading, or undefined when Litestream does not answer. */
export async function readLitestream(url: string): Promise<LitestreamReading | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (!response.ok) return undefined;
    return readingFromExposition(await response.text());
  } catch {
    return undefined;
  }
}

export function readingFromExposition(text: string): LitestreamReading {
  const sum = (name: string) => samples(text, name).reduce((total, value) => total + value, 0);
  const index = samples(text, 'litestream_replica_wal_index')[0];
  const offset = samples(text, 'litestream_replica_wal_offset')[0];
  return {
    syncErrors: sum('litestream_sync_error_count'),
    checkpointErrors: sum('litestream_checkpoint_error_count'),
    replicaPosition: index === undefined || offset === undefined ? undefined : `${index}/${offset}`,
    startTimeSeconds: samples(text, 'process_start_time_seconds')[0],
  };
}

/** Values of every sample of `name` (any labels) in a Prometheus text exposition. */
function samples(text: string, name: string): number[] {
  const values: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const value = Number(rest.slice(rest.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) values.push(value);
  }
  return values;
}
