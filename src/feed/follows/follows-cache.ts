/**
 * Who each recent user follows, in memory: fetched from the AppView on a user's first
 * page, kept `ttlMs`, the least recently used user dropped past `maxUsers`. A failed
 * fetch is remembered for `failureTtlMs`, so a dead AppView costs one fetch per user per
 * interval rather than one per request. On the primary, Jetstream's follow records keep
 * the users already cached current between fetches (`applyFollow`); replicas have no
 * Jetstream and rely on the TTL alone.
 */
import { FollowsFetchError, type FollowsFailure, type FollowsSource } from '../../atproto/follows-client.js';
import { InFlightFetches } from '../../atproto/did/in-flight.js';
import type { FollowEvent } from '../../ingest/events.js';

export interface FollowsCacheOptions {
  ttlMs: number;
  failureTtlMs: number;
  maxUsers: number;
  /** Follows kept per user: the fetch's cap, which Jetstream's creates do not pass either. */
  maxFollows: number;
  /** AppView fetches in flight at most; past it a new user fails at once (`busy`). */
  maxConcurrentFetches: number;
  now?: () => number;
}

/** What the cache tells the metrics. */
export interface FollowsCacheReport {
  /** Each network fetch (or one refused as busy) as it ends. */
  fetched(outcome: 'ok' | FollowsFailure): void;
  /** How a lookup was answered: fresh from the cache, a remembered failure, or a fetch. */
  looked(result: 'cached' | 'failure_cached' | 'fetched'): void;
  users(count: number): void;
}

interface Entry {
  follows: Set<string>;
  /** Follow record keys seen on Jetstream, to the DID each followed: a delete names only its rkey. */
  rkeys: Map<string, string>;
  atMs: number;
}

const SILENT: FollowsCacheReport = { fetched: () => {}, looked: () => {}, users: () => {} };

export class FollowsCache {
  /** Map order is use order: the first key is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private readonly failures = new Map<string, { error: FollowsFetchError; atMs: number }>();
  private readonly inFlight: InFlightFetches<Entry>;
  private readonly now: () => number;

  constructor(
    private readonly source: FollowsSource,
    private readonly options: FollowsCacheOptions,
    private readonly report: FollowsCacheReport = SILENT,
  ) {
    this.now = options.now ?? Date.now;
    this.inFlight = new InFlightFetches(options.maxConcurrentFetches, (did) => new FollowsFetchError('busy', did, 'too many follows lists are being fetched'));
  }

  get size(): number {
    return this.entries.size;
  }

  /** The user's follows if the cache holds them fresh; never fetches. */
  peek(did: string): ReadonlySet<string> | undefined {
    const entry = this.fresh(did);
    return entry?.follows;
  }

  /**
   * The user's follows: from the cache, or fetched once however many requests ask at
   * once. Rejects with a FollowsFetchError (a recent failure is rejected again without a fetch).
   */
  async get(did: string): Promise<ReadonlySet<string>> {
    const entry = this.fresh(did);
    if (entry) {
      this.report.looked('cached');
      return entry.follows;
    }
    const failed = this.failures.get(did);
    if (failed && this.now() - failed.atMs < this.options.failureTtlMs) {
      this.report.looked('failure_cached');
      throw failed.error;
    }
    this.report.looked('fetched');
    try {
      return (await this.inFlight.run(did, () => this.fetch(did))).follows;
    } catch (err) {
      // Refused before any fetch: fetch() counts the others.
      if (err instanceof FollowsFetchError && err.reason === 'busy') this.report.fetched('busy');
      throw err;
    }
  }

  /** A follow record seen on Jetstream: applied to the follower's entry when it is cached. */
  applyFollow(event: FollowEvent): 'applied' | 'ignored' {
    const entry = this.entries.get(event.did);
    if (entry === undefined) return 'ignored';
    if (event.type === 'follow') {
      if (entry.follows.size >= this.options.maxFollows && !entry.follows.has(event.subject)) return 'ignored';
      entry.follows.add(event.subject);
      entry.rkeys.set(event.rkey, event.subject);
      return 'applied';
    }
    const subject = entry.rkeys.get(event.rkey);
    // A follow made before the user was cached: its rkey is unknown until the TTL refetches.
    if (subject === undefined) return 'ignored';
    entry.rkeys.delete(event.rkey);
    entry.follows.delete(subject);
    return 'applied';
  }

  private fresh(did: string): Entry | undefined {
    const entry = this.entries.get(did);
    if (entry === undefined) return undefined;
    if (this.now() - entry.atMs >= this.options.ttlMs) return undefined;
    // Used: to the back of the eviction order.
    this.entries.delete(did);
    this.entries.set(did, entry);
    return entry;
  }

  private async fetch(did: string): Promise<Entry> {
    let follows: string[];
    try {
      follows = await this.source.fetchFollows(did);
    } catch (err) {
      const error = err instanceof FollowsFetchError ? err : new FollowsFetchError('network', did, 'follows fetch failed', { cause: err });
      this.report.fetched(error.reason);
      // Busy is about us, not the AppView: the next request may try again.
      if (error.reason !== 'busy') this.remember(this.failures, did, { error, atMs: this.now() });
      throw error;
    }
    this.report.fetched('ok');
    this.failures.delete(did);
    const entry: Entry = { follows: new Set(follows.slice(0, this.options.maxFollows)), rkeys: new Map(), atMs: this.now() };
    this.remember(this.entries, did, entry);
    this.report.users(this.entries.size);
    return entry;
  }

  /** Sets `did` last in `map`, dropping the least recently used past maxUsers. */
  private remember<V>(map: Map<string, V>, did: string, value: V): void {
    map.delete(did);
    map.set(did, value);
    if (map.size > this.options.maxUsers) map.delete(map.keys().next().value!);
  }
}
