import { describe, expect, it } from 'vitest';
import { CursorTracker, MIN_DISORDER_US, SEQUENCE_CURSOR_LIMIT } from '../src/ingest/cursor-tracker.js';
import { CAPTURE_FILE, jsonlLines } from '../testkit/fixtures.js';

const EMPTY = { timeUs: undefined, seq: undefined, seqHost: undefined };
const HOST_A = 'ws://a/subscribe';
const HOST_B = 'ws://b/subscribe';

describe('CursorTracker', () => {
  it('starts live when nothing is stored', () => {
    expect(new CursorTracker(EMPTY, 5e6).resumeCursor(HOST_A)).toBeUndefined();
  });

  it('stores a time cursor at or below every event still to come in the real capture', () => {
    const times = jsonlLines(CAPTURE_FILE).map((line) => (JSON.parse(line) as { time_us: number }).time_us);
    // Commit after each prefix of the stream: the stored cursor must not pass any later event.
    for (let committed = 1; committed < times.length; committed++) {
      const tracker = new CursorTracker(EMPTY, 0);
      for (const t of times.slice(0, committed)) tracker.observe({ timeUs: t, seq: undefined }, HOST_A);
      const stored = tracker.snapshot().timeUs!;
      const skipped = times.slice(committed).filter((t) => t < stored);
      expect(skipped, `after ${committed} events`).toEqual([]);
    }
  });

  it('does not count a rewound replay as disorder', () => {
    const tracker = new CursorTracker({ ...EMPTY, timeUs: 1_783_175_888_000_000 }, 5e6);
    tracker.startConnection();
    for (let t = 1_783_175_883_000_000; t <= 1_783_175_890_000_000; t += 100_000) tracker.observe({ timeUs: t, seq: undefined }, HOST_A);
    expect(tracker.disorderUs()).toBe(0);
    expect(tracker.snapshot().timeUs).toBe(1_783_175_889_000_000);
  });

  it('rewinds the time cursor on resume', () => {
    const tracker = new CursorTracker({ ...EMPTY, timeUs: 1_783_175_888_000_000 }, 5e6);
    expect(tracker.resumeCursor(HOST_A)).toBe(1_783_175_883_000_000);
  });

  it('resumes by sequence on the host that numbered the events, by time elsewhere', () => {
    const tracker = new CursorTracker(EMPTY, 5e6);
    tracker.observe({ timeUs: 1_783_175_888_000_000, seq: 900 }, HOST_A);
    tracker.observe({ timeUs: 1_783_175_888_100_000, seq: 901 }, HOST_A);
    expect(tracker.resumeCursor(HOST_A)).toBe(901);
    const onB = tracker.resumeCursor(HOST_B)!;
    expect(onB).toBeGreaterThanOrEqual(SEQUENCE_CURSOR_LIMIT);
    expect(onB).toBe(1_783_175_888_100_000 - MIN_DISORDER_US - 5e6);
  });

  it('takes the new host\'s numbering after a fail-over', () => {
    const tracker = new CursorTracker({ timeUs: 1_783_175_888_000_000, seq: 5000, seqHost: HOST_A }, 5e6);
    tracker.observe({ timeUs: 1_783_175_889_000_000, seq: 12 }, HOST_B);
    expect(tracker.snapshot()).toMatchObject({ seq: 12, seqHost: HOST_B });
    expect(tracker.resumeCursor(HOST_B)).toBe(12);
  });
});
