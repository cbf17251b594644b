/**
 * What a signed-in user's ranking is made of: their own likes (pipeline.ts) and, while
 * they have fewer than `belowLikes`, the accounts they follow (cold-start.ts), blended.
 * Undefined when neither finds a post: the feed then serves the popular list rather than
 * an empty page. The feed and the playground's explanations both rank through here.
 */
import { blend, FOLLOWS_DEFAULTS, type FollowsParams, rankFromFollows } from './cold-start.js';
import type { ExplainCollector, GraphView } from './kernel.js';
import type { RankerParams } from './params.js';
import { rankForUser, type UserSignals } from './pipeline.js';

/**
 * Stands for a user the database has never seen (a follower who never liked nor posted):
 * actor ids are rowids from 1, and 0 is also what the graph answers for "no author".
 */
export const NO_ACTOR = 0;

export interface UserRanking {
  posts: Float64Array;
  /** True when the user's follows contributed (the page's source says `+follows`). */
  fromFollows: boolean;
}

export interface UserToRank {
  /** The user's actor id; undefined when the database has never seen them. */
  actor: number | undefined;
  /** Actor ids of the accounts they follow (those the database knows), when looked up. */
  followed: ArrayLike<number> | undefined;
  signals: UserSignals;
}

const NOTHING = new Float64Array(0);

export function rankUser(
  graph: GraphView,
  user: UserToRank,
  p: RankerParams,
  nowS: number,
  explain?: ExplainCollector,
  f: FollowsParams = FOLLOWS_DEFAULTS,
): UserRanking | undefined {
  const { actor, followed, signals } = user;
  const personal = actor === undefined ? undefined : rankForUser(graph, actor, p, nowS, signals, explain);
  if (followed !== undefined && followed.length > 0 && wantsFollows(graph, actor, f)) {
    const fromFollows = rankFromFollows(graph, actor ?? NO_ACTOR, followed, p, f, nowS, signals, explain);
    const likes = actor === undefined ? 0 : graph.likesOfActor(actor);
    if (fromFollows.length > 0) return { posts: blend(personal ?? NOTHING, fromFollows, likes, f, p.maxResults), fromFollows: true };
  }
  // Seeds whose co-likers lead nowhere give an empty ranking: an empty feed helps nobody.
  return personal !== undefined && personal.length > 0 ? { posts: personal, fromFollows: false } : undefined;
}

/** Whether the user's follows would join their ranking: few likes of their own, or none seen at all. */
export function wantsFollows(graph: Pick<GraphView, 'likesOfActor'>, actor: number | undefined, f: FollowsParams = FOLLOWS_DEFAULTS): boolean {
  return actor === undefined || graph.likesOfActor(actor) < f.belowLikes;
}
