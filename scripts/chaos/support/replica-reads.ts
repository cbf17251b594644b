/**
 * Feed reads sent straight to a replica, one after another, each sorted by what it
 * proved: a well-formed skeleton, a clean hand-over (409 with fly-replay, or a 503 the
 * caller retries), or something a half-applied copy would produce (a 500, a malformed
 * body, a dropped connection).
 */
import { repeatUntilStopped } from '../../../testkit/polling/repeat.js';
import { FEED_URI, type SignedUser } from '../../../testkit/processes/feed-service.js';

export type ReadOutcome = 'skeleton' | 'replay' | 'unavailable' | 'bad';

export interface ReplicaRead {
  atMs: number;
  outcome: ReadOutcome;
  /** Status and a slice of the body, for the report when it was bad. */
  detail: string;
  /** Sent while the scenario had the replica stopped on purpose: a refused connection is expected then. */
  whileDown: boolean;
}

const POST_URI = /^at:\/\/did:[a-z]+:[^/]+\/app\.bsky\.feed\.post\/[^/]+$/;

export function keepReadingReplica(baseUrl: () => string, user: SignedUser, gapMs: number, isDown: () => boolean): { stop: () => Promise<ReplicaRead[]> } {
  return repeatUntilStopped(async () => {
    const whileDown = isDown();
    const atMs = Date.now();
    const [outcome, detail] = await readOnce(baseUrl(), user);
    return { atMs, outcome, detail, whileDown: whileDown || isDown() };
  }, gapMs);
}

async function readOnce(baseUrl: string, user: SignedUser): Promise<[ReadOutcome, string]> {
  const query = new URLSearchParams({ feed: FEED_URI, limit: '30' });
  try {
    const res = await fetch(`${baseUrl}/xrpc/app.bsky.feed.getFeedSkeleton?${query}`, {
      headers: { authorization: await user.bearer('app.bsky.feed.getFeedSkeleton') },
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    if (res.status === 409 && res.headers.get('fly-replay')?.includes('region=')) return ['replay', ''];
    if (res.status === 503) return ['unavailable', text.slice(0, 120)];
    if (res.status !== 200) return ['bad', `${res.status} ${text.slice(0, 200)}`];
    const body = JSON.parse(text) as { feed?: Array<{ post?: unknown }>; cursor?: unknown };
    const wellFormed = Array.isArray(body.feed) && body.feed.every((item) => typeof item.post === 'string' && POST_URI.test(item.post));
    return wellFormed ? ['skeleton', ''] : ['bad', `200 malformed ${text.slice(0, 200)}`];
  } catch (err) {
    return ['bad', `no answer: ${String(err).slice(0, 120)}`];
  }
}
