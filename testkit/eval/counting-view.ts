/**
 * The graph as a ranking sees it, counting the like-list slots each walk touches: the
 * eval's "work" of every method that reads the graph per request (rankers and references).
 */
import type { LikeGraph, LikeList, ReadLimits } from '../../src/feed/graph/like-graph.js';
import type { GraphView } from '../../src/feed/ranker/kernel.js';

export class CountingView implements GraphView {
  touched = 0;

  constructor(private readonly graph: LikeGraph) {}

  readLikesOfActor(actor: number, max: number, out: LikeList, limits?: ReadLimits): number {
    const touched = this.graph.readLikesOfActor(actor, max, out, limits);
    this.touched += touched;
    return touched;
  }

  readPostRowsOfActor(actor: number, max: number, out: LikeList, limits?: ReadLimits): number {
    const touched = this.graph.readPostRowsOfActor(actor, max, out, limits);
    this.touched += touched;
    return touched;
  }

  readLikersOfPost(post: number, max: number, out: LikeList, limits?: ReadLimits): number {
    const touched = this.graph.readLikersOfPost(post, max, out, limits);
    this.touched += touched;
    return touched;
  }

  likesOfPostRow(row: number): number {
    return this.graph.likesOfPostRow(row);
  }

  postIdOfRow(row: number): number {
    return this.graph.postIdOfRow(row);
  }

  likesOfActor(actor: number): number {
    return this.graph.likesOfActor(actor);
  }

  likesOfPost(post: number): number {
    return this.graph.likesOfPost(post);
  }

  isPostLive(post: number): boolean {
    return this.graph.isPostLive(post);
  }

  isActorActive(actor: number): boolean {
    return this.graph.isActorActive(actor);
  }

  postAuthorOf(post: number): number {
    return this.graph.postAuthorOf(post);
  }
}
