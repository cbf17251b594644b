/**
 * What the resolver remembers, all of it bounded: documents (positive entries), DIDs
 * that failed (negative entries), and when each DID last skipped the cache.
 */
import { MemoryCache, type DidDocument } from '@atproto/identity';
import { BoundedCache } from '../../util/bounded-cache.js';
import type { DidResolutionError } from './errors.js';

/** Per generation of the failure and forced-refresh memories (two generations are kept). */
const MEMORY_GENERATION_SIZE = 10_000;

/**
 * MemoryCache with a size bound (oldest write evicted first) and stale entries
 * refreshed in the background: MemoryCache awaits the refresh, so a slow or failing
 * PLC would fail requests that a still-valid cached key could have answered.
 */
export class DidDocumentCache extends MemoryCache {
  constructor(
    staleTtlMs: number,
    maxTtlMs: number,
    private readonly maxEntries: number,
  ) {
    super(staleTtlMs, maxTtlMs);
  }

  override async cacheDid(did: string, doc: DidDocument): Promise<void> {
    this.cache.delete(did);
    await super.cacheDid(did, doc);
    if (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
  }

  override async refreshCache(did: string, getDoc: () => Promise<DidDocument | null>): Promise<void> {
    super.refreshCache(did, getDoc).catch(() => {
      // Kept: the stale document serves until maxTtl, and a bad signature forces a refetch.
    });
  }
}

/**
 * DIDs that failed to resolve, each refused at once for `ttlMs`. Forged tokens name any
 * issuer they like, and the JWT check resolves it before it checks the signature:
 * without this, every such request would be a fetch we make for them.
 */
export class FailureMemory {
  private readonly failures = new BoundedCache<string, { error: DidResolutionError; atMs: number }>(MEMORY_GENERATION_SIZE);

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The remembered failure of `did`, if it is recent. */
  recent(did: string): DidResolutionError | undefined {
    const failed = this.failures.get(did);
    return failed && this.now() - failed.atMs < this.ttlMs ? failed.error : undefined;
  }

  remember(did: string, error: DidResolutionError): void {
    // Busy is about us, not the DID: the next request may try again.
    if (error.name === 'DidResolverBusy') return;
    this.failures.set(did, { error, atMs: this.now() });
  }
}

/** At most one forced refresh (a cache bypass, for key rotation) per DID per interval. */
export class ForcedRefreshThrottle {
  private readonly lastForcedAt = new BoundedCache<string, number>(MEMORY_GENERATION_SIZE);

  constructor(
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether `did` may skip the cache now; a yes counts as its refresh. */
  allow(did: string): boolean {
    const now = this.now();
    const last = this.lastForcedAt.get(did);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.lastForcedAt.set(did, now);
    return true;
  }
}
