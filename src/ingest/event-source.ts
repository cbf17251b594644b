/**
 * Where the Ingester's raw frames come from: Jetstream in production (JetstreamClient),
 * an in-memory list in tests (testkit/standins/memory-event-source.ts). The shared
 * contract suite (test/contracts/event-source.ts) pins what every source must do.
 */

/** What a source tells the Ingester, and the one thing it asks it. */
export interface FrameSubscriber {
  /**
   * The cursor to ask `origin` for, at every connection and reconnection: a source never
   * resumes on its own idea of where it was. A time cursor means every event with
   * `time_us` at or above it; undefined means the live end (a replay: its start).
   */
  cursorFor(origin: string): number | undefined;
  /** A connection to `origin` is open; frames follow. */
  onConnect(origin: string): void;
  /** One raw frame, in the order the host sent it, untouched (parsing is the Ingester's job). */
  onFrame(data: Buffer, isBinary: boolean, origin: string): void;
  /**
   * The connection to `origin` ended, or an attempt to open one failed, other than by
   * `stop()`. The source reconnects by itself (asking `cursorFor` again); this is the
   * moment to commit what was read.
   */
  onDisconnect(origin: string, reason: string): void;
}

/**
 * A never-ending stream of raw frames. `origin` is the URL of the host a frame came
 * from: sequence cursors are only meaningful on the host that assigned them.
 */
export interface EventSource {
  /** Connects, once; callbacks start after `start` returns. */
  start(subscriber: FrameSubscriber): void;
  /**
   * Flow control while the writer is behind: reading stops soon (frames already
   * received may still arrive) and stays stopped across reconnections until `resume`.
   * Nothing is dropped or repeated by a pause.
   */
  pause(): void;
  resume(): void;
  /** Disconnects for good. From the call on, no callback of any kind; resolves once closed. */
  stop(): Promise<void>;
}
