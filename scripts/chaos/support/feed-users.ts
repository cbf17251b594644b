import { drawUsersByActivity, signTokens } from '../../bench/feed-load.js';
import { Rng } from '../../../testkit/dataset/random.js';
import type { PlcDirectory } from '../../../testkit/standins/plc-directory.js';

/**
 * Service JWTs of users drawn by activity (as the feed benchmark draws them), with each
 * user capped at `maxShare` of the draws: the service limits each user to 10 feed
 * requests a second, and at 400 req/s the most active users of a power-law dataset
 * would hit that wall (a 429 is the limiter working, not the load test's subject).
 * `oneEach` holds a token per user, for a warm-up that resolves every DID once: the
 * service fetches a bounded number of DID documents at a time and answers 401
 * DidResolverBusy beyond it, as it should when thousands of unknown users arrive at once.
 */
export async function feedTokens(
  dbPath: string,
  plc: PlcDirectory,
  serviceDid: string,
  options: { draws: number; maxShare: number; seed: number },
): Promise<{ tokens: string[]; oneEach: string[] }> {
  const rng = new Rng(options.seed);
  const drawn = drawUsersByActivity(dbPath, options.draws, () => rng.float());
  const cap = Math.max(1, Math.floor(options.draws * options.maxShare));
  const taken = new Map<string, number>();
  const kept = drawn.filter((did) => {
    const n = taken.get(did) ?? 0;
    taken.set(did, n + 1);
    return n < cap;
  });
  const tokens = await signTokens(kept, plc, serviceDid);
  const firstOf = new Map<string, string>();
  kept.forEach((did, i) => firstOf.has(did) || firstOf.set(did, tokens[i]!));
  return { tokens, oneEach: [...firstOf.values()] };
}
