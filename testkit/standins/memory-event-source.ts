/**
 * An EventSource over a list of Jetstream lines, without a network: it serves them as
 * the replay stand-in does (text frames in list order, a cursor read as time_us and
 * honoured as Jetstream does: only events with time_us at or above it), so an Ingester
 * can run in a test without a WebSocket server. Delivery is asynchronous, a few frames
 * per turn of the event loop, so pause and stop act between frames as they would on a
 * socket.
 */
import type { EventSource, FrameSubscriber } from '../../src/ingest/event-source.js';

export interface MemoryEventSourceOptions {
  /** The origin frames carry (a URL, as Jetstream's are). */
  origin?: string;
}

/** One connection as the source saw it. */
export interface MemoryConnectionRecord {
  cursor: number | undefined;
  framesSent: number;
}

const FRAMES_PER_TURN = 64;

interface Connection {
  /** Indexes into the lines, the ones this connection's cursor selects. */
  selected: number[];
  next: number;
  record: MemoryConnectionRecord;
}

export class MemoryEventSource implements EventSource {
  readonly origin: string;
  private readonly timeUs: Array<number | undefined>;
  private subscriber: FrameSubscriber | undefined;
  private connection: Connection | undefined;
  private readonly records: MemoryConnectionRecord[] = [];
  private paused = false;
  private stopped = true;
  private pumpScheduled = false;
  private readonly timers = new Set<NodeJS.Immediate>();

  constructor(
    private readonly lines: readonly string[],
    options: MemoryEventSourceOptions = {},
  ) {
    this.origin = options.origin ?? 'memory://jetstream/subscribe';
    this.timeUs = lines.map(timeUsOf);
  }

  start(subscriber: FrameSubscriber): void {
    if (this.subscriber !== undefined) throw new Error('memory event source: start() called twice');
    this.subscriber = subscriber;
    this.stopped = false;
    this.later(() => this.connect());
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedulePump();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.connection = undefined;
    for (const timer of this.timers) clearImmediate(timer);
    this.timers.clear();
  }

  /** Ends the connection as a host going away would: no more frames on it, onDisconnect, then a reconnection. */
  dropConnection(reason = 'connection dropped'): void {
    if (this.connection === undefined || this.stopped) return;
    this.connection = undefined;
    this.later(() => {
      this.subscriber?.onDisconnect(this.origin, reason);
      this.later(() => this.connect());
    });
  }

  /** Every connection so far, oldest first. */
  connections(): MemoryConnectionRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  private connect(): void {
    const subscriber = this.subscriber;
    if (this.stopped || subscriber === undefined) return;
    const cursor = subscriber.cursorFor(this.origin);
    const selected: number[] = [];
    for (let i = 0; i < this.lines.length; i++) {
      const t = this.timeUs[i];
      if (cursor === undefined || (t !== undefined && t >= cursor)) selected.push(i);
    }
    const record = { cursor, framesSent: 0 };
    this.records.push(record);
    this.connection = { selected, next: 0, record };
    subscriber.onConnect(this.origin);
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.connection === undefined) return;
    this.pumpScheduled = true;
    this.later(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Delivers a few frames; every check is per frame, since a callback may pause, stop or drop. */
  private pump(): void {
    const connection = this.connection;
    for (let n = 0; n < FRAMES_PER_TURN; n++) {
      if (this.stopped || this.paused || this.connection !== connection || connection === undefined) return;
      const index = connection.selected[connection.next];
      if (index === undefined) return; // the end of the list: connected and idle, as a quiet host
      connection.next++;
      connection.record.framesSent++;
      this.subscriber?.onFrame(Buffer.from(this.lines[index]!), false, this.origin);
    }
    this.schedulePump();
  }

  private later(fn: () => void): void {
    const timer = setImmediate(() => {
      this.timers.delete(timer);
      fn();
    });
    this.timers.add(timer);
  }
}

/** A line's time_us, or undefined when it has none (such lines never satisfy a cursor). */
function timeUsOf(line: string): number | undefined {
  try {
    const event: unknown = JSON.parse(line);
    const timeUs = typeof event === 'object' && event !== null ? (event as { time_us?: unknown }).time_us : undefined;
    return typeof timeUs === 'number' ? timeUs : undefined;
  } catch {
    return undefined;
  }
}
