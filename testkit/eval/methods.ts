/**
 * The methods the eval compares: the ranker's presets, and the references they are held
 * against (the co-like count through the same kernel, popularity, and three recommenders
 * of their own, see references/).
 */
import { COLIKE_COUNT, CHEAP, DEFAULT, type RankerParams, withOverrides } from '../../src/feed/ranker/params.js';
import type { GraphView } from '../../src/feed/ranker/kernel.js';
import { rankForUser } from '../../src/feed/ranker/pipeline.js';
import { itemKnn } from './references/item-knn.js';
import { randomWalk } from './references/random-walk.js';
import { recencyColike } from './references/recency-colike.js';

export interface EvalMethod {
  name: string;
  /** A reference: one of those the best reference is picked from. */
  reference: boolean;
  /** The preset, for the rankers. */
  params?: RankerParams;
  /**
   * Ranks for the user at the cut-off, best first, reading the graph through `graph` (the
   * eval's counting view); undefined answers with the popular list (a ranker's cold start).
   * Popularity has none: its list is computed once, not per request.
   */
  rank?: (graph: GraphView, user: number, nowS: number, limit: number, seed: number) => ArrayLike<number> | undefined;
}

const ranker = (params: RankerParams): EvalMethod['rank'] => (graph, user, nowS) => rankForUser(graph, user, params, nowS);

/**
 * For tuning: `base` as `name`, then each variant (overrides merged onto `base`), then the
 * references to hold them against (the sampled users and graph are the same for all).
 */
export function variantMethods(name: string, base: RankerParams, variants: Record<string, Partial<RankerParams>>): EvalMethod[] {
  const tried = Object.entries(variants).map(([variant, overrides]) => {
    const params = withOverrides(base, overrides);
    return { name: variant, reference: false, params, rank: ranker(params) };
  });
  return [{ name, reference: false, params: base, rank: ranker(base) }, ...tried, ...METHODS.filter((m) => m.reference)];
}

export const METHODS: readonly EvalMethod[] = [
  { name: 'default', reference: false, params: DEFAULT, rank: ranker(DEFAULT) },
  { name: 'cheap', reference: false, params: CHEAP, rank: ranker(CHEAP) },
  { name: 'colike', reference: true, params: COLIKE_COUNT, rank: ranker(COLIKE_COUNT) },
  { name: 'popularity', reference: true },
  { name: 'recency_colike', reference: true, rank: recencyColike },
  { name: 'item_knn', reference: true, rank: itemKnn },
  { name: 'random_walk', reference: true, rank: randomWalk },
];
