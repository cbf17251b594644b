import { readFileSync } from 'node:fs';
import { streamLikeFingerprint } from '../../../testkit/processes/db.js';
import { framesSentFor } from '../../../testkit/standins/jetstream-server.js';
import { WANTED_COLLECTIONS } from '../../../src/ingest/events.js';

/**
 * The likes a stream file must leave in the database: every line parsed and written in
 * one go, with nothing in the way. What a faulty run ends with is compared to this.
 * Also returns how many frames the replay will send (the lines the service asks for).
 */
export function expectedLikes(streamFile: string): { likes: string[]; lines: number } {
  const lines = readFileSync(streamFile, 'utf8')
    .split('\n')
    .filter((line) => line !== '');
  return { likes: streamLikeFingerprint(lines), lines: framesSentFor(lines, WANTED_COLLECTIONS).frames };
}
