import type { StoredCursor } from '../store/meta.js';
import type { StreamPosition } from './events.js';

/** Cursors below this are sequence numbers on the newer Jetstream hosts; above, time_us. */
export const SEQUENCE_CURSOR_LIMIT = 1e15;

/**
 * The least disorder assumed before any is seen. Real streams step back by tens of
 * milliseconds (33 ms in the recorded capture); one second is a wide margin.
 */
export const MIN_DISORDER_US = 1_000_000;

/**
 * Follows the stream position of the events handed to the writer, and says where
 * to resume after a restart or a reconnect without skipping anything.
 *
 * `time_us` is not monotonic (events arrive tens of ms out of order), so the time
 * cursor we store is the newest time seen minus the largest backwards step seen
 * (at least MIN_DISORDER_US): every event after the last one committed is at or
 * above it. A resume then rewinds a few more seconds for hosts whose clocks differ;
 * idempotent writes absorb the repeats.
 *
 * Sequence numbers are exact but only mean something on the host that assigned them,
 * so they are stored with that host and used only when reconnecting to it.
 */
export class CursorTracker {
  private maxTimeUs: number;
  private maxBackstepUs = 0;
  /** Newest time on the current connection: disorder is measured within one stream, not across a rewind. */
  private connectionMaxUs = 0;
  private seq: number | undefined;
  private seqHost: string | undefined;

  constructor(
    stored: StoredCursor,
    private readonly rewindUs: number,
  ) {
    // The stored value already has the disorder margin taken off: start from it as is.
    this.maxTimeUs = stored.timeUs === undefined ? 0 : stored.timeUs + MIN_DISORDER_US;
    this.seq = stored.seq;
    this.seqHost = stored.seqHost;
  }

  /** A new connection replays from a rewound cursor: its first events are not disorder. */
  startConnection(): void {
    this.connectionMaxUs = 0;
  }

  observe(position: StreamPosition, host: string): void {
    if (position.timeUs > this.connectionMaxUs) this.connectionMaxUs = position.timeUs;
    else this.maxBackstepUs = Math.max(this.maxBackstepUs, this.connectionMaxUs - position.timeUs);
    if (position.timeUs > this.maxTimeUs) this.maxTimeUs = position.timeUs;

    if (position.seq === undefined) return;
    if (host !== this.seqHost) {
      this.seqHost = host;
      this.seq = position.seq;
    } else if (this.seq === undefined || position.seq > this.seq) {
      this.seq = position.seq;
    }
  }

  /** What to store with the rows written so far. */
  snapshot(): StoredCursor {
    return {
      timeUs: this.maxTimeUs > 0 ? this.maxTimeUs - Math.max(this.maxBackstepUs, MIN_DISORDER_US) : undefined,
      seq: this.seq,
      seqHost: this.seqHost,
    };
  }

  /** The `cursor` query value for a (re)connection to `host`; undefined = start live. */
  resumeCursor(host: string): number | undefined {
    if (this.seq !== undefined && this.seqHost === host) return this.seq;
    const timeUs = this.snapshot().timeUs;
    return timeUs === undefined ? undefined : Math.max(SEQUENCE_CURSOR_LIMIT, timeUs - this.rewindUs);
  }

  /** Newest event time seen, for the lag metric. */
  latestTimeUs(): number | undefined {
    return this.maxTimeUs > 0 ? this.maxTimeUs : undefined;
  }

  /** The largest out-of-order step seen, in microseconds. */
  disorderUs(): number {
    return this.maxBackstepUs;
  }
}
