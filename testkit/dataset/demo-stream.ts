import { closeSync, openSync, writeSync } from 'node:fs';
import { createDatasetStats, type DatasetStats, generateDataset } from './generator.js';

const LINES_PER_WRITE = 5000;
/** How the generator writes a like: `{"did":"did:plc:…","time_us":…,"kind":"commit","commit":{"rev":"…","operation":"create","collection":"app.bsky.feed.like"`. */
const LIKE_CREATE = /^\{"did":"([^"]+)","time_us":\d+,"kind":"commit","commit":\{"rev":"[^"]*","operation":"create","collection":"app\.bsky\.feed\.like"/;

/** Likes created in the generated lines it is shown, by liker. */
export class LikerCounter {
  private readonly byLiker = new Map<string, number>();
  total = 0;

  add(line: string): void {
    const did = LIKE_CREATE.exec(line)?.[1];
    if (did === undefined) return;
    this.byLiker.set(did, (this.byLiker.get(did) ?? 0) + 1);
    this.total++;
  }

  /** The `n` DIDs with the most likes, most first. */
  top(n: number): string[] {
    return [...this.byLiker].sort((a, b) => b[1] - a[1]).slice(0, n).map(([did]) => did);
  }
}

/**
 * Writes a generated like stream (ending now) to `file` as JSONL and returns its stats
 * and the DIDs with the most likes among its first `earlyLines` lines, most first: the
 * users whose feeds are personal by the time the demo is up.
 */
export function writeDemoStream(
  file: string,
  options: { seed: number; likes: number; days: number; earlyLines: number; users: number },
): { stats: DatasetStats; activeLikers: string[] } {
  const stats = createDatasetStats();
  const early = new LikerCounter();
  const fd = openSync(file, 'w');
  try {
    let batch: string[] = [];
    let index = 0;
    for (const line of generateDataset({ seed: options.seed, likes: options.likes, days: options.days }, stats)) {
      if (index++ < options.earlyLines) early.add(line);
      batch.push(line);
      if (batch.length === LINES_PER_WRITE) {
        writeSync(fd, `${batch.join('\n')}\n`);
        batch = [];
      }
    }
    if (batch.length > 0) writeSync(fd, `${batch.join('\n')}\n`);
  } finally {
    closeSync(fd);
  }
  return { stats, activeLikers: early.top(options.users) };
}
