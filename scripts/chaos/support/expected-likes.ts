import { readFileSync } from 'node:fs';
import { streamLikeFingerprint } from '../../../testkit/processes/db.js';

/**
 * The likes a stream file must leave in the database: every line parsed and written in
 * one go, with nothing in the way. What a faulty run ends with is compared to this.
 * Also returns the file's line count (the frames the replay will send).
 */
export function expectedLikes(streamFile: string): { likes: string[]; lines: number } {
  const lines = readFileSync(streamFile, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
  return { likes: streamLikeFingerprint(lines), lines: lines.length };
}
