/**
 * What the reference recommenders share: the user's likes (seeds, and the posts never to
 * recommend back), the filter every recommendation passes, and a top-k of an Accumulator.
 *
 * A reference is a pure function of the graph view, the user, the cut-off and a limit,
 * returning post ids best first. The eval passes a CountingView, so its reads are counted
 * as the rankers' are.
 */
import { LikeList } from '../../../src/feed/graph/like-graph.js';
import type { Accumulator } from '../../../src/feed/ranker/accumulator.js';
import type { GraphView } from '../../../src/feed/ranker/kernel.js';

export const SECONDS_PER_HOUR = 3600;
/**
 * Likes of the user read at most to learn what they already liked (as the kernel's scan):
 * eligible users have a few dozen to a few hundred, so the bound only cuts the busiest.
 */
const MAX_LIKED_SCAN = 5000;

export interface UserLikes {
  /** The newest `seedMax` liked posts, newest first. */
  seeds: Float64Array;
  /** Every liked post read: never recommended back. */
  liked: Set<number>;
}

export function userLikes(graph: GraphView, user: number, seedMax: number, list = new LikeList()): UserLikes {
  graph.readLikesOfActor(user, MAX_LIKED_SCAN, list);
  return { seeds: list.ids.slice(0, Math.min(seedMax, list.length)), liked: new Set(list.ids.subarray(0, list.length)) };
}

/** What every reference leaves out: posts the user liked or wrote, and posts gone or by gone authors. */
export function recommendable(graph: GraphView, user: number, liked: ReadonlySet<number>, post: number): boolean {
  return !liked.has(post) && graph.isPostLive(post) && graph.postAuthorOf(post) !== user;
}

export interface Entries {
  ids: Float64Array;
  weights: Float64Array;
}

/** An accumulator's ids and sums, as arrays the caller may weigh in place. */
export function entriesOf(sums: Accumulator): Entries {
  const out = { ids: new Float64Array(sums.size), weights: new Float64Array(sums.size) };
  for (let i = 0; i < sums.size; i++) {
    out.ids[i] = sums.idAt(i);
    out.weights[i] = sums.sumAt(i);
  }
  return out;
}

/**
 * The `limit` highest-weighted ids that pass `accept`, highest first (ties: lower id). Looks
 * at a shortlist a few times the limit first (accept may read the graph), and widens it only
 * when too few pass.
 */
export function bestAccepted(entries: Entries, limit: number, accept: (id: number) => boolean): Float64Array {
  for (let shortlist = limit * 4; ; shortlist *= 4) {
    const { ids } = topEntries(entries, shortlist);
    const out: number[] = [];
    for (let i = 0; i < ids.length && out.length < limit; i++) if (accept(ids[i]!)) out.push(ids[i]!);
    if (out.length === limit || ids.length === entries.ids.length) return Float64Array.from(out);
  }
}

/**
 * The k highest-weighted entries, highest first (ties: lower id), through a min-heap of k:
 * n log k, where candidates outnumber what is kept a hundred to one.
 */
export function topEntries({ ids, weights }: Entries, k: number): Entries {
  const want = Math.min(k, ids.length);
  const heap = new Int32Array(want); // entry indices; the worst kept at the root
  const worse = (a: number, b: number) => weights[a]! < weights[b]! || (weights[a] === weights[b] && ids[a]! > ids[b]!);
  const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j]!, heap[i]!]);
  let size = 0;
  for (let index = 0; index < ids.length; index++) {
    if (size < want) {
      heap[size] = index;
      for (let i = size++; i > 0 && worse(heap[i]!, heap[(i - 1) >> 1]!); i = (i - 1) >> 1) swap(i, (i - 1) >> 1);
      continue;
    }
    if (want === 0 || !worse(heap[0]!, index)) continue;
    heap[0] = index;
    for (let i = 0; ; ) {
      let m = i;
      if (2 * i + 1 < size && worse(heap[2 * i + 1]!, heap[m]!)) m = 2 * i + 1;
      if (2 * i + 2 < size && worse(heap[2 * i + 2]!, heap[m]!)) m = 2 * i + 2;
      if (m === i) break;
      swap(i, m);
      i = m;
    }
  }
  const order = Array.from(heap).sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
  return { ids: Float64Array.from(order, (i) => ids[i]!), weights: Float64Array.from(order, (i) => weights[i]!) };
}
