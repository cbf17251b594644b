/**
 * What this node served, and how users answered it. Replicas serve most reads and
 * cannot write the database, so each node keeps its own log in memory and judges
 * only its own pages.
 *
 *   like-through = served (user, post) pairs the user liked within `followUpMs` after serving / served pairs
 *   show-less    = served pairs whose author the user asked to see less of within `followUpMs` / served pairs
 *
 * Both are grouped by the UTC day the page was served and the preset that ranked it.
 * Pages younger than `followUpMs` are still open: their rates can only grow.
 */

/** One first page of a personal ranking, as served. */
export interface ServedPage {
  atMs: number;
  reqId: string;
  user: number;
  preset: string;
  /** Post ids (float64: they pass 2^31). */
  posts: Float64Array;
  /**
   * Each post's author, as of serving: the graph forgets a post once its last like
   * goes, and a show-less request must still find the author of what was served.
   */
  authors: Int32Array;
}

export interface ServedLogLimits {
  windowMs: number;
  maxItems: number;
}

export const SERVED_LOG_DEFAULTS: ServedLogLimits = { windowMs: 48 * 3_600_000, maxItems: 200_000 };
export const FOLLOW_UP_MS = 24 * 3_600_000;

/** A bounded log of served pages, oldest first: older than the window or over the item budget, the oldest go. */
export class ServedLog {
  private entries: ServedPage[] = [];
  private items = 0;

  constructor(private readonly limits: ServedLogLimits = SERVED_LOG_DEFAULTS) {}

  record(page: ServedPage): void {
    this.entries.push(page);
    this.items += page.posts.length;
    this.prune(page.atMs);
  }

  /** The pages still in the window at `nowMs`, oldest first. */
  pages(nowMs: number): readonly ServedPage[] {
    this.prune(nowMs);
    return this.entries;
  }

  get itemCount(): number {
    return this.items;
  }

  private prune(nowMs: number): void {
    let drop = 0;
    let items = this.items;
    for (const page of this.entries) {
      if (page.atMs > nowMs - this.limits.windowMs && items <= this.limits.maxItems) break;
      items -= page.posts.length;
      drop++;
    }
    if (drop === 0) return;
    this.entries = this.entries.slice(drop);
    this.items = items;
  }
}

/** What the computation reads about a user's answers; times in ms. */
export interface FeedbackSource {
  /** The user's likes, newest first, until `visit` returns false. */
  forEachLike(user: number, visit: (post: number, atMs: number) => boolean | void): void;
  /** The authors the user asked to see less of after `sinceMs`. */
  lessRequests(user: number, sinceMs: number): Array<{ author: number; atMs: number }>;
}

export interface QualityRow {
  /** YYYY-MM-DD, UTC. */
  day: string;
  preset: string;
  pages: number;
  served: number;
  liked: number;
  showLess: number;
}

/** Per (day, preset), newest day first, presets by name. */
export function feedQuality(pages: readonly ServedPage[], source: FeedbackSource, followUpMs = FOLLOW_UP_MS): QualityRow[] {
  // 1. Each user's pages, and the earliest of them: answers before it do not count.
  const byUser = new Map<number, ServedPage[]>();
  for (const page of pages) {
    const list = byUser.get(page.user);
    if (list) list.push(page);
    else byUser.set(page.user, [page]);
  }

  const rows = new Map<string, QualityRow>();
  for (const [user, served] of byUser) {
    const sinceMs = Math.min(...served.map((p) => p.atMs));

    // 2. The user's answers since then, as times per post and per author.
    const likes = new Map<number, number[]>();
    source.forEachLike(user, (post, atMs) => {
      if (atMs < sinceMs) return false;
      push(likes, post, atMs);
    });
    const less = new Map<number, number[]>();
    for (const r of source.lessRequests(user, sinceMs)) push(less, r.author, r.atMs);

    // 3. Each served pair counts once, against its page's follow-up window.
    for (const page of served) {
      const day = new Date(page.atMs).toISOString().slice(0, 10);
      const key = `${day} ${page.preset}`;
      let row = rows.get(key);
      if (!row) rows.set(key, (row = { day, preset: page.preset, pages: 0, served: 0, liked: 0, showLess: 0 }));
      const within = (times: number[] | undefined) => times?.some((t) => t >= page.atMs && t <= page.atMs + followUpMs) ?? false;
      row.pages++;
      page.posts.forEach((post, i) => {
        row.served++;
        if (within(likes.get(post))) row.liked++;
        if (within(less.get(page.authors[i]!))) row.showLess++;
      });
    }
  }
  return [...rows.values()].sort((a, b) => (a.day === b.day ? a.preset.localeCompare(b.preset) : b.day.localeCompare(a.day)));
}

function push(map: Map<number, number[]>, key: number, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
