/**
 * The offline evaluation's view of a like stream: integer ids for DIDs and posts (as
 * the database assigns them), the LikeGraph the service would hold at the cut-off,
 * and each user's likes after it (the held-out set).
 *
 * Events strictly before the cut-off are applied as the service applies them: likes
 * get increasing ids in stream order, unlikes remove their like, post deletes mark the
 * post gone, account events set the actor's status when their seq is newer. Reposts
 * do not enter the like graph. Events at or after the cut-off never touch the graph:
 * they only fill the held-out set.
 */
import { LikeGraph } from '../../src/feed/graph/like-graph.js';
import { splitPostUri } from '../../src/atproto/identifiers.js';
import { parseFrame } from '../../src/ingest/parse.js';

const MAX_FRAME_BYTES = 262_144;

export interface WorldStats {
  lines: number;
  rejected: number;
  likesBefore: number;
  likesAfter: number;
  /** Likes after the cut-off unliked before the stream ends: the user took them back. */
  heldOutUnliked: number;
  /** Likes after the cut-off of posts first seen at or after it: nothing could rank them at the cut-off. */
  heldOutNewPost: number;
  /** Likes after the cut-off of the user's own posts: the ranker never recommends those, by design. */
  heldOutOwnPost: number;
  /** Likes after the cut-off of posts deleted (or whose author was gone) at the cut-off. */
  heldOutGonePost: number;
}

export interface EvalWorld {
  graph: LikeGraph;
  cutoffS: number;
  /** Per actor: the posts liked after the cut-off that count as relevant (see WorldStats for what is left out). */
  heldOut: Map<number, Set<number>>;
  actorCount: number;
  postCount: number;
  stats: WorldStats;
}

interface HeldLike {
  actor: number;
  post: number;
  unliked: boolean;
}

/**
 * Builds the world from Jetstream JSONL lines. `cutoffUs` splits the stream by each
 * event's `time_us` (which may step back a little; the split is by the stamp, not the
 * line's position).
 */
export function buildWorld(lines: Iterable<string>, cutoffUs: number, onLine?: (lines: number) => void): EvalWorld {
  const graph = new LikeGraph();
  const actorIds = new Map<string, number>();
  const postIds = new Map<string, number>();
  /** When a post was first seen (create event or a like naming it), in µs. */
  const postFirstSeenUs: number[] = [0];
  const postAuthor: number[] = [0];
  /** Posts deleted before the cut-off: a like that brings one into the graph says so (as the row's flag does). */
  const postGoneBefore = new Set<number>();
  /** (actor, rkey) → like id and post (before the cut-off) or held-out like (after). */
  const likesBefore = new ByActor<[number, number]>();
  const likesAfter = new ByActor<HeldLike>();
  const accountSeq = new Map<number, number>();
  const stats: WorldStats = {
    lines: 0,
    rejected: 0,
    likesBefore: 0,
    likesAfter: 0,
    heldOutUnliked: 0,
    heldOutNewPost: 0,
    heldOutOwnPost: 0,
    heldOutGonePost: 0,
  };
  let nextLikeId = 1;

  // Ids start at 1, as the database's do (0 is the graph's "no like" link).
  const actorId = (did: string): number => {
    let id = actorIds.get(did);
    if (id === undefined) {
      id = actorIds.size + 1;
      actorIds.set(did, id);
    }
    return id;
  };
  const postId = (authorDid: string, rkey: string, timeUs: number): number => {
    const key = `${authorDid}/${rkey}`;
    let id = postIds.get(key);
    if (id === undefined) {
      id = postIds.size + 1;
      postIds.set(key, id);
      const author = actorId(authorDid);
      postAuthor[id] = author;
      postFirstSeenUs[id] = timeUs;
    }
    return id;
  };

  for (const line of lines) {
    stats.lines++;
    if (onLine && stats.lines % 50_000 === 0) onLine(stats.lines);
    const parsed = parseFrame(line, false, MAX_FRAME_BYTES);
    if (parsed.outcome === 'rejected') stats.rejected++;
    if (parsed.outcome !== 'event') continue;
    const event = parsed.event;
    const before = event.timeUs < cutoffUs;
    switch (event.type) {
      case 'like': {
        const actor = actorId(event.did);
        const { authorDid, rkey } = splitPostUri(event.subjectUri);
        const post = postId(authorDid, rkey, event.timeUs);
        const key = event.rkey;
        if (likesBefore.get(actor, key) !== undefined || likesAfter.get(actor, key) !== undefined) break; // a replayed create
        if (before) {
          const id = nextLikeId++;
          likesBefore.set(actor, key, [id, post]);
          graph.addLike(id, actor, post, Math.floor(event.timeUs / 1e6), postAuthor[post], postGoneBefore.has(post));
          stats.likesBefore++;
        } else {
          likesAfter.set(actor, key, { actor, post, unliked: false });
          stats.likesAfter++;
        }
        break;
      }
      case 'like-delete': {
        const actor = actorIds.get(event.did);
        if (actor === undefined) break;
        const key = event.rkey;
        const held = likesAfter.get(actor, key);
        if (held) held.unliked = true;
        const liked = likesBefore.get(actor, key);
        if (liked !== undefined && before) graph.removeLike(liked[0], actor, liked[1]);
        break;
      }
      case 'post':
        postId(event.did, event.rkey, event.timeUs);
        break;
      case 'post-delete': {
        const post = postId(event.did, event.rkey, event.timeUs);
        if (before) {
          postGoneBefore.add(post);
          graph.markPostGone(post);
        }
        break;
      }
      case 'account': {
        if (!before) break;
        const actor = actorId(event.did);
        if ((accountSeq.get(actor) ?? -1) >= event.accountSeq) break;
        accountSeq.set(actor, event.accountSeq);
        graph.setActorActive(actor, event.active);
        break;
      }
      case 'repost':
      case 'repost-delete':
        break;
    }
  }

  const heldOut = new Map<number, Set<number>>();
  for (const like of likesAfter.values()) {
    if (like.unliked) stats.heldOutUnliked++;
    else if (postFirstSeenUs[like.post]! >= cutoffUs) stats.heldOutNewPost++;
    else if (postAuthor[like.post] === like.actor) stats.heldOutOwnPost++;
    // Not graph.isPostLive: the graph holds only posts with likes, and a held-out post may have none before the cut-off.
    else if (postGoneBefore.has(like.post) || !graph.isActorActive(postAuthor[like.post]!)) stats.heldOutGonePost++;
    else {
      let posts = heldOut.get(like.actor);
      if (!posts) heldOut.set(like.actor, (posts = new Set()));
      posts.add(like.post);
    }
  }
  return { graph, cutoffS: Math.floor(cutoffUs / 1e6), heldOut, actorCount: actorIds.size, postCount: postIds.size, stats };
}

/**
 * Values by (actor, like rkey), one Map per actor: a single Map of every like would pass
 * the 2^24 entries a Map can hold (about 16.7 M) on a 20 M-like stream.
 */
class ByActor<V> {
  private readonly byActor = new Map<number, Map<string, V>>();

  get(actor: number, rkey: string): V | undefined {
    return this.byActor.get(actor)?.get(rkey);
  }

  set(actor: number, rkey: string, value: V): void {
    let values = this.byActor.get(actor);
    if (!values) this.byActor.set(actor, (values = new Map()));
    values.set(rkey, value);
  }

  *values(): IterableIterator<V> {
    for (const values of this.byActor.values()) yield* values.values();
  }
}
