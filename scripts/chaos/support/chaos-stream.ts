/**
 * The generated Jetstream stream the fault scenarios replay, and what can be read off its lines.
 */
import { generateDataset } from '../../../testkit/dataset/generator.js';

/**
 * A like stream ending now, dense in time (the generator's shortest window, about 15 minutes), so a
 * reconnection's rewind of a few seconds replays real events, with one like in ten unliked
 * later, so a replayed create that revived an unliked like would show.
 */
export function chaosStream(seed: number, likes: number): string[] {
  return [...generateDataset({ seed, likes, days: 0.01, unlikeShare: 0.1, malformedShare: 0 })];
}

/** The `time_us` of a stream line. */
export function timeUsOf(line: string): number {
  const timeUs = (JSON.parse(line) as { time_us?: unknown }).time_us;
  if (typeof timeUs !== 'number') throw new Error(`stream line without time_us: ${line.slice(0, 120)}`);
  return timeUs;
}

/** The largest backwards step of time_us in the stream: the disorder a cursor must allow for. */
export function disorderUsOf(lines: readonly string[]): number {
  let newest = 0;
  let largest = 0;
  for (const line of lines) {
    const timeUs = timeUsOf(line);
    newest = Math.max(newest, timeUs);
    largest = Math.max(largest, newest - timeUs);
  }
  return largest;
}
