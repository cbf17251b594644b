import autocannon from 'autocannon';
import { Secp256k1Keypair } from '@atproto/crypto';
import { createServiceJwt } from '@atproto/xrpc-server';
import type { PlcDirectory } from '../../testkit/standins/plc-directory.js';
import { openReader } from '../../src/store/database.js';

export interface LoadResult {
  requests: number;
  non2xx: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  rps: number;
  /** Answers by HTTP status: a non-2xx count alone does not say which fault it was. */
  statuses: Record<string, number>;
}

/**
 * Users drawn by their activity: `draws` picks, each user with a chance in
 * proportion to their live likes (duplicates kept, so a uniform pick from the
 * result is activity-weighted).
 */
export function drawUsersByActivity(dbPath: string, draws: number, random: () => number): string[] {
  const db = openReader(dbPath);
  try {
    const rows = db
      .prepare<[], { did: string; n: number }>(
        'SELECT a.did, count(*) AS n FROM likes l JOIN actors a ON a.id = l.actor_id WHERE l.deleted = 0 GROUP BY l.actor_id',
      )
      .all();
    const cumulative = new Float64Array(rows.length);
    let total = 0;
    rows.forEach((row, i) => (cumulative[i] = total += row.n));
    return Array.from({ length: draws }, () => {
      const target = random() * total;
      let lo = 0;
      let hi = rows.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid]! < target) lo = mid + 1;
        else hi = mid;
      }
      return rows[lo]!.did;
    });
  } finally {
    db.close();
  }
}

/** Service JWTs for each user, signed by one key registered for all of them at the PLC stand-in. */
export async function signTokens(users: string[], plc: PlcDirectory, serviceDid: string): Promise<string[]> {
  const keypair = await Secp256k1Keypair.create();
  const tokens = new Map<string, string>();
  for (const iss of new Set(users)) {
    plc.register(iss, keypair);
    const exp = Math.floor(Date.now() / 1000) + 3 * 3600;
    tokens.set(iss, await createServiceJwt({ iss, aud: serviceDid, lxm: 'app.bsky.feed.getFeedSkeleton', keypair, exp }));
  }
  return users.map((user) => tokens.get(user)!);
}

/** First-page feed requests (a fresh ranking each) at a fixed rate, each from a drawn user. */
export async function runFeedLoad(
  baseUrl: string,
  feedUri: string,
  tokens: string[],
  load: { ratePerS: number; seconds: number; connections: number },
): Promise<LoadResult> {
  let next = 0;
  const path = `/xrpc/app.bsky.feed.getFeedSkeleton?feed=${encodeURIComponent(feedUri)}&limit=30`;
  const result = await autocannon({
    url: baseUrl,
    connections: load.connections,
    overallRate: load.ratePerS,
    duration: load.seconds,
    requests: [
      {
        method: 'GET',
        path,
        setupRequest: (request) => {
          const token = tokens[next++ % tokens.length]!;
          return { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } };
        },
      },
    ],
  });
  return {
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    rps: result.requests.average,
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, stat?.count ?? 0])),
  };
}
