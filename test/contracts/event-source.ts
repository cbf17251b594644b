/**
 * What every EventSource must do (src/ingest/event-source.ts), as one suite run against
 * each implementation. The source serves the real Jetstream capture; `create` builds one
 * over the lines it is given, which it replays from their start when asked no cursor.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { EventSource, FrameSubscriber } from '../../src/ingest/event-source.js';
import { CAPTURE_FILE, jsonlLines } from '../../testkit/fixtures.js';
import { waitFor } from '../../testkit/processes/service.js';

export interface EventSourceHarness {
  source: EventSource;
  /** Ends the current connection from the far side, as a host going away does. */
  dropConnection(): void;
  /** Releases whatever the source needed (a server); the suite stops the source itself. */
  close(): Promise<void>;
}

export type EventSourceFactory = (lines: readonly string[]) => Promise<EventSourceHarness>;

/** How long "nothing arrives" is watched for: long enough for frames in flight on loopback to land. */
const QUIET_MS = 150;

type Heard =
  | { type: 'connect'; origin: string }
  | { type: 'frame'; text: string; isBinary: boolean; origin: string }
  | { type: 'disconnect'; origin: string; reason: string };

/** A subscriber that writes down everything, answers `cursorFor` from `cursor`, and can act on a frame. */
class RecordingSubscriber implements FrameSubscriber {
  readonly heard: Heard[] = [];
  readonly cursorAsks: string[] = [];
  cursor: number | undefined;
  /** Called after each frame is recorded, with the number of frames so far. */
  afterFrame: (count: number) => void = () => {};
  afterDisconnect: () => void = () => {};

  cursorFor(origin: string): number | undefined {
    this.cursorAsks.push(origin);
    return this.cursor;
  }
  onConnect(origin: string): void {
    this.heard.push({ type: 'connect', origin });
  }
  onFrame(data: Buffer, isBinary: boolean, origin: string): void {
    this.heard.push({ type: 'frame', text: data.toString('utf8'), isBinary, origin });
    this.afterFrame(this.frames().length);
  }
  onDisconnect(origin: string, reason: string): void {
    this.heard.push({ type: 'disconnect', origin, reason });
    this.afterDisconnect();
  }

  frames(): string[] {
    return this.heard.flatMap((h) => (h.type === 'frame' ? [h.text] : []));
  }
  connects(): number {
    return this.heard.filter((h) => h.type === 'connect').length;
  }
  /** Resolves once `n` frames have arrived. */
  untilFrames(n: number, what = `${n} frames`): Promise<void> {
    return waitFor(() => (this.frames().length >= n ? true : undefined), 10_000, what).then(() => undefined);
  }
}

const quiet = () => new Promise((resolve) => setTimeout(resolve, QUIET_MS));
const timeUs = (line: string): number => (JSON.parse(line) as { time_us: number }).time_us;

export function eventSourceContract(name: string, create: EventSourceFactory): void {
  const lines = jsonlLines(CAPTURE_FILE);
  // The median time: about half the capture is below it, scattered (time_us is not monotonic).
  const cursor = [...lines.map(timeUs)].sort((a, b) => a - b)[Math.floor(lines.length / 2)]!;
  const fromCursor = lines.filter((line) => timeUs(line) >= cursor);

  describe(`EventSource contract: ${name}`, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    async function started(subscriber: RecordingSubscriber, before?: (source: EventSource) => void) {
      const harness = await create(lines);
      cleanups.push(() => harness.close(), () => harness.source.stop());
      before?.(harness.source);
      harness.source.start(subscriber);
      return harness;
    }

    it('has a capture whose cursor case is a real test: frames below the cursor sit among frames above it', () => {
      expect(lines).toHaveLength(152);
      expect(fromCursor.length).toBeGreaterThan(0);
      expect(fromCursor.length).toBeLessThan(lines.length);
      const firstBelow = lines.findIndex((line) => timeUs(line) < cursor);
      expect(lines.slice(firstBelow).some((line) => timeUs(line) >= cursor)).toBe(true);
    });

    it('connects, then delivers every frame in order, byte for byte, as text, from an origin that is a URL', async () => {
      const subscriber = new RecordingSubscriber();
      await started(subscriber);
      await subscriber.untilFrames(lines.length);
      expect(subscriber.frames()).toEqual(lines);
      const [first, ...rest] = subscriber.heard;
      expect(first?.type).toBe('connect');
      const origin = first!.origin;
      expect(() => new URL(origin)).not.toThrow();
      expect(rest.every((h) => h.type === 'frame' && !h.isBinary && h.origin === origin)).toBe(true);
      expect(subscriber.cursorAsks).toEqual([origin]);
    });

    it('asks for its cursor before connecting and resumes from it: exactly the events at or after it, in order', async () => {
      const subscriber = new RecordingSubscriber();
      subscriber.cursor = cursor;
      const harness = await started(subscriber);
      await subscriber.untilFrames(fromCursor.length);
      await harness.source.stop();
      expect(subscriber.frames()).toEqual(fromCursor);
      expect(subscriber.cursorAsks).toHaveLength(1);
    });

    it('after a dropped connection: reports it with a reason, reconnects by itself, and resumes from the cursor asked afresh', async () => {
      const subscriber = new RecordingSubscriber();
      const harness = await started(subscriber);
      await subscriber.untilFrames(lines.length);
      subscriber.cursor = cursor;
      harness.dropConnection();
      await subscriber.untilFrames(lines.length + fromCursor.length, 'the replay after the reconnection');
      await harness.source.stop();

      const kinds = subscriber.heard.map((h) => h.type);
      const disconnectAt = kinds.indexOf('disconnect');
      expect(kinds.slice(0, disconnectAt)).toEqual(['connect', ...lines.map(() => 'frame')]);
      expect(kinds.slice(disconnectAt)).toEqual(['disconnect', 'connect', ...fromCursor.map(() => 'frame')]);
      const disconnect = subscriber.heard[disconnectAt] as Extract<Heard, { type: 'disconnect' }>;
      expect(disconnect.reason).not.toBe('');
      expect(disconnect.origin).toBe(subscriber.heard[0]!.origin);
      expect(subscriber.frames()).toEqual([...lines, ...fromCursor]);
      expect(subscriber.cursorAsks).toHaveLength(2);
    });

    it('stop() called from inside onFrame: that frame is the last thing heard, and stop resolves', async () => {
      const subscriber = new RecordingSubscriber();
      let stopping: Promise<void> | undefined;
      const harness = await create(lines);
      cleanups.push(() => harness.close());
      subscriber.afterFrame = (count) => {
        if (count === 10) stopping = harness.source.stop();
      };
      harness.source.start(subscriber);
      await subscriber.untilFrames(10);
      await stopping;
      await quiet();
      expect(subscriber.frames()).toEqual(lines.slice(0, 10));
      expect(subscriber.heard.at(-1)?.type).toBe('frame');
    });

    it('after stop(): no frame, no disconnect and no reconnection, even when the host drops the connection', async () => {
      const subscriber = new RecordingSubscriber();
      const harness = await started(subscriber);
      await subscriber.untilFrames(lines.length);
      const heardBefore = subscriber.heard.length;
      await harness.source.stop();
      harness.dropConnection();
      await quiet();
      expect(subscriber.heard).toHaveLength(heardBefore);
      expect(subscriber.cursorAsks).toHaveLength(1);
    });

    it('stop() before start, and twice, resolves', async () => {
      const harness = await create(lines);
      cleanups.push(() => harness.close());
      await harness.source.stop();
      const subscriber = new RecordingSubscriber();
      harness.source.start(subscriber);
      await subscriber.untilFrames(1);
      await harness.source.stop();
      await harness.source.stop();
      expect(subscriber.connects()).toBe(1);
    });

    it('pause() from inside onFrame, then resume(): nothing lost, nothing repeated, order kept', async () => {
      const subscriber = new RecordingSubscriber();
      const harness = await create(lines);
      cleanups.push(() => harness.close(), () => harness.source.stop());
      let resumed = false;
      subscriber.afterFrame = (count) => {
        if (count !== 20) return;
        harness.source.pause();
        setTimeout(() => {
          resumed = true;
          harness.source.resume();
        }, QUIET_MS);
      };
      harness.source.start(subscriber);
      await subscriber.untilFrames(lines.length);
      expect(resumed).toBe(true);
      expect(subscriber.frames()).toEqual(lines);
      expect(subscriber.connects()).toBe(1);
    });

    it('paused before it connects: connects but delivers nothing until resume(), then everything', async () => {
      const subscriber = new RecordingSubscriber();
      const harness = await started(subscriber, (source) => source.pause());
      await waitFor(() => (subscriber.connects() === 1 ? true : undefined), 10_000, 'the connection');
      await quiet();
      expect(subscriber.frames()).toEqual([]);
      harness.source.resume();
      await subscriber.untilFrames(lines.length);
      expect(subscriber.frames()).toEqual(lines);
    });

    it('paused while disconnected: the next connection delivers nothing until resume()', async () => {
      const subscriber = new RecordingSubscriber();
      const harness = await started(subscriber);
      await subscriber.untilFrames(lines.length);
      // As the Ingester does when a write fails: the pause comes while the source is between connections.
      subscriber.afterDisconnect = () => harness.source.pause();
      harness.dropConnection();
      await waitFor(() => (subscriber.connects() === 2 ? true : undefined), 10_000, 'the reconnection');
      await quiet();
      expect(subscriber.frames()).toHaveLength(lines.length);
      harness.source.resume();
      await subscriber.untilFrames(2 * lines.length);
      expect(subscriber.frames()).toEqual([...lines, ...lines]);
    });

    it('stop() while paused resolves, and nothing buffered comes out afterwards', async () => {
      const subscriber = new RecordingSubscriber();
      const harness = await started(subscriber, (source) => source.pause());
      await waitFor(() => (subscriber.connects() === 1 ? true : undefined), 10_000, 'the connection');
      await quiet();
      await harness.source.stop();
      await quiet();
      expect(subscriber.heard.map((h) => h.type)).toEqual(['connect']);
    });
  });
}
