/**
 * DID → atproto signing key, for service auth. The parts, in src/atproto/did/: the
 * policy (which methods, which sources are trusted), the address guard (did:web from
 * public addresses only), the bounded fetch (deadline, size cap), the in-flight limit
 * and the caches. Forced refreshes (key rotation) are throttled per DID so tokens with
 * bad signatures cannot turn us into a PLC load generator.
 */
import { DidResolver, getKey, type DidDocument, type MemoryCache } from '@atproto/identity';
import { AddressGuard, type HostLookup } from './did/address-guard.js';
import { fetchJson, withDeadline } from './did/bounded-fetch.js';
import { DidDocumentCache, FailureMemory, ForcedRefreshThrottle } from './did/cache.js';
import { asResolutionError, DidResolutionError } from './did/errors.js';
import { InFlightFetches } from './did/in-flight.js';
import { DidPolicy, isSupportedDidMethod } from './did/policy.js';

export { DidResolutionError, type DidResolutionFailure } from './did/errors.js';
export { isPublicAddress } from './did/address-guard.js';

/** What the auth layer needs; tests and other resolvers can stand in. */
export interface SigningKeyResolver {
  /** The did:key of the DID's `#atproto` key; `forceRefresh` skips the cache (verifyJwt's contract). */
  getSigningKey(did: string, forceRefresh: boolean): Promise<string>;
}

export interface DidResolverOptions {
  plcUrl: string;
  /** Whole fetch, DNS to last byte. */
  timeoutMs?: number;
  maxDocumentBytes?: number;
  /** After this a cached document is refreshed in the background; after maxTtlMs it is refetched. */
  staleTtlMs?: number;
  maxTtlMs?: number;
  maxCachedDids?: number;
  /** At most one forced refresh per DID this often. */
  forcedRefreshIntervalMs?: number;
  /** A DID that failed to resolve is not tried again for this long. */
  failureTtlMs?: number;
  /** Network fetches in flight at most; past it, new DIDs fail at once. */
  maxConcurrentFetches?: number;
  /** DNS for did:web hosts, all addresses (tests swap it). */
  lookup?: HostLookup;
}

export const DID_RESOLVER_DEFAULTS = {
  timeoutMs: 3000,
  maxDocumentBytes: 64 * 1024,
  staleTtlMs: 60 * 60_000,
  maxTtlMs: 24 * 60 * 60_000,
  maxCachedDids: 100_000,
  forcedRefreshIntervalMs: 10_000,
  // Forged tokens name any issuer they like, and verifyJwt resolves it before it checks the
  // signature: without these two, every such request would be a fetch we make for them.
  failureTtlMs: 60_000,
  maxConcurrentFetches: 32,
} as const;

export class ServiceDidResolver implements SigningKeyResolver {
  private readonly timeoutMs: number;
  private readonly maxDocumentBytes: number;
  private readonly policy: DidPolicy;
  private readonly inFlight: InFlightFetches;
  private readonly failures: FailureMemory;
  private readonly forcedRefreshes: ForcedRefreshThrottle;
  private readonly resolver: DidResolver;

  constructor(options: DidResolverOptions) {
    const d = DID_RESOLVER_DEFAULTS;
    this.timeoutMs = options.timeoutMs ?? d.timeoutMs;
    this.maxDocumentBytes = options.maxDocumentBytes ?? d.maxDocumentBytes;
    this.policy = new DidPolicy(options.plcUrl, new AddressGuard(options.lookup));
    this.inFlight = new InFlightFetches(options.maxConcurrentFetches ?? d.maxConcurrentFetches);
    this.failures = new FailureMemory(options.failureTtlMs ?? d.failureTtlMs);
    this.forcedRefreshes = new ForcedRefreshThrottle(options.forcedRefreshIntervalMs ?? d.forcedRefreshIntervalMs);
    const cache = new DidDocumentCache(options.staleTtlMs ?? d.staleTtlMs, options.maxTtlMs ?? d.maxTtlMs, options.maxCachedDids ?? d.maxCachedDids);
    this.resolver = new FetchingDidResolver(cache, (did) => this.inFlight.run(did, () => this.fetchDocument(did)));
  }

  async getSigningKey(did: string, forceRefresh: boolean): Promise<string> {
    if (!isSupportedDidMethod(did)) throw new DidResolutionError('DidUnresolvable', did, 'only did:plc and did:web issuers are supported');
    const failed = this.failures.recent(did);
    if (failed) throw failed;
    let doc: DidDocument;
    try {
      doc = await this.resolver.ensureResolve(did, forceRefresh && this.forcedRefreshes.allow(did));
    } catch (err) {
      const error = asResolutionError(did, err);
      this.failures.remember(did, error);
      throw error;
    }
    return signingKeyOf(did, doc);
  }

  /** The raw document, or null when its source positively says the DID does not exist. */
  private fetchDocument(did: string): Promise<unknown> {
    return withDeadline(did, this.timeoutMs, async (signal) => {
      const { url, pinned } = await this.policy.documentSource(did);
      return fetchJson(did, url, { maxBytes: this.maxDocumentBytes, signal, pinned });
    });
  }
}

/** @atproto/identity's resolver (cache, document validation) over our bounded fetch. */
class FetchingDidResolver extends DidResolver {
  constructor(
    cache: MemoryCache,
    private readonly fetchDocument: (did: string) => Promise<unknown>,
  ) {
    super({ didCache: cache });
  }

  override resolveNoCheck(did: string): Promise<unknown> {
    return this.fetchDocument(did);
  }
}

function signingKeyOf(did: string, doc: DidDocument): string {
  let key: string | undefined;
  try {
    key = getKey(doc);
  } catch (err) {
    throw new DidResolutionError('DidUnresolvable', did, 'the atproto signing key in the DID document is not a valid key', { cause: err });
  }
  if (key === undefined) throw new DidResolutionError('DidUnresolvable', did, 'the DID document has no atproto signing key');
  return key;
}
