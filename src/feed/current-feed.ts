import type { FeedEngine } from './feed-engine.js';

/**
 * The feed engine that requests are served from. The HTTP app is built once over it; a
 * replica puts a new engine in when its copy moves to a new generation, so routes read
 * it at each request instead of keeping the engine they were built with.
 */
export class CurrentFeed {
  constructor(private engine: FeedEngine | undefined = undefined) {}

  get(): FeedEngine | undefined {
    return this.engine;
  }

  get isReady(): boolean {
    return this.engine?.isReady ?? false;
  }

  /** Puts `next` in place; returns the engine it replaced, for the caller to stop. */
  swap(next: FeedEngine): FeedEngine | undefined {
    const old = this.engine;
    this.engine = next;
    return old;
  }
}
