/**
 * DID → atproto signing key, for service auth. did:plc comes from the configured PLC
 * directory (trusted, wherever it is); did:web only over HTTPS from public addresses,
 * since anyone can send us a JWT naming any host. Every fetch is bounded in time and
 * size; documents are cached, and forced refreshes (key rotation) are throttled per DID
 * so tokens with bad signatures cannot turn us into a PLC load generator.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { DidNotFoundError, DidResolver, MemoryCache, PoorlyFormattedDidDocumentError, getKey, type DidDocument } from '@atproto/identity';
import { BoundedCache } from '../util/bounded-cache.js';

/** What the auth layer needs; tests and other resolvers can stand in. */
export interface SigningKeyResolver {
  /** The did:key of the DID's `#atproto` key; `forceRefresh` skips the cache (verifyJwt's contract). */
  getSigningKey(did: string, forceRefresh: boolean): Promise<string>;
}

export type DidResolutionFailure =
  | 'DidNotFound' // the PLC directory or the host says there is no such DID
  | 'DidUnresolvable' // unsupported method, network error, bad status, bad document, no key
  | 'DidHostForbidden' // did:web host on a loopback, private or otherwise non-public address
  | 'DidDocumentTooLarge'
  | 'DidResolutionTimeout'
  | 'DidResolverBusy'; // too many documents being fetched at once

/** Every failure of getSigningKey; `name` says which, `message` is safe to show the caller. */
export class DidResolutionError extends Error {
  constructor(
    override readonly name: DidResolutionFailure,
    readonly did: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
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
  lookup?: (hostname: string) => Promise<Array<{ address: string; family: number }>>;
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

const PLC_DID = /^did:plc:[a-z2-7]{24}$/;
/** A did:web host after percent-decoding: a name or IPv4 literal, maybe a port (refused later). */
const WEB_HOST = /^([a-z0-9.-]+)(?::(\d{1,5}))?$/i;

export class ServiceDidResolver implements SigningKeyResolver {
  private readonly opts: Required<Omit<DidResolverOptions, 'lookup'>>;
  private readonly lookup: NonNullable<DidResolverOptions['lookup']>;
  private readonly resolver: DidResolver;
  /** One network fetch per DID at a time, however many requests wait on it. */
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly forcedAt: BoundedCache<string, number>;
  private readonly failures: BoundedCache<string, { error: DidResolutionError; atMs: number }>;

  constructor(options: DidResolverOptions) {
    const d = DID_RESOLVER_DEFAULTS;
    this.opts = {
      plcUrl: options.plcUrl,
      timeoutMs: options.timeoutMs ?? d.timeoutMs,
      maxDocumentBytes: options.maxDocumentBytes ?? d.maxDocumentBytes,
      staleTtlMs: options.staleTtlMs ?? d.staleTtlMs,
      maxTtlMs: options.maxTtlMs ?? d.maxTtlMs,
      maxCachedDids: options.maxCachedDids ?? d.maxCachedDids,
      forcedRefreshIntervalMs: options.forcedRefreshIntervalMs ?? d.forcedRefreshIntervalMs,
      failureTtlMs: options.failureTtlMs ?? d.failureTtlMs,
      maxConcurrentFetches: options.maxConcurrentFetches ?? d.maxConcurrentFetches,
    };
    this.lookup = options.lookup ?? ((hostname) => dnsLookup(hostname, { all: true, verbatim: true }));
    const cache = new DidDocumentCache(this.opts.staleTtlMs, this.opts.maxTtlMs, this.opts.maxCachedDids);
    this.resolver = new FetchingDidResolver(cache, (did) => this.fetchOnce(did));
    this.forcedAt = new BoundedCache(10_000);
    this.failures = new BoundedCache(10_000);
  }

  async getSigningKey(did: string, forceRefresh: boolean): Promise<string> {
    // Only these two: BaseResolver would hand a did:key back as its own key, letting anyone sign as it.
    if (!did.startsWith('did:plc:') && !did.startsWith('did:web:')) {
      throw new DidResolutionError('DidUnresolvable', did, 'only did:plc and did:web issuers are supported');
    }
    const failed = this.failures.get(did);
    if (failed && Date.now() - failed.atMs < this.opts.failureTtlMs) throw failed.error;
    let doc: DidDocument;
    try {
      doc = await this.resolver.ensureResolve(did, forceRefresh && this.mayForceRefresh(did));
    } catch (err) {
      const error = asResolutionError(did, err);
      // Busy is about us, not the DID: the next request may try again.
      if (error.name !== 'DidResolverBusy') this.failures.set(did, { error, atMs: Date.now() });
      throw error;
    }
    let key: string | undefined;
    try {
      key = getKey(doc);
    } catch (err) {
      throw new DidResolutionError('DidUnresolvable', did, 'the atproto signing key in the DID document is not a valid key', { cause: err });
    }
    if (key === undefined) throw new DidResolutionError('DidUnresolvable', did, 'the DID document has no atproto signing key');
    return key;
  }

  private mayForceRefresh(did: string): boolean {
    const now = Date.now();
    const last = this.forcedAt.get(did);
    if (last !== undefined && now - last < this.opts.forcedRefreshIntervalMs) return false;
    this.forcedAt.set(did, now);
    return true;
  }

  private fetchOnce(did: string): Promise<unknown> {
    let pending = this.inflight.get(did);
    if (pending === undefined && this.inflight.size >= this.opts.maxConcurrentFetches) {
      return Promise.reject(new DidResolutionError('DidResolverBusy', did, 'too many DID documents are being fetched; try again'));
    }
    if (pending === undefined) {
      pending = this.fetchWithDeadline(did).finally(() => this.inflight.delete(did));
      this.inflight.set(did, pending);
    }
    return pending;
  }

  /** The deadline covers DNS too: a lookup cannot be aborted, so it is raced. */
  private async fetchWithDeadline(did: string): Promise<unknown> {
    const abort = new AbortController();
    const { timeoutMs } = this.opts;
    const timer = setTimeout(() => abort.abort(new DidResolutionError('DidResolutionTimeout', did, `DID document not fetched within ${timeoutMs} ms`)), timeoutMs);
    try {
      return await raceAbort(this.fetchDocument(did, abort.signal), abort.signal);
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  }

  /** The raw document, or null when the source positively says the DID does not exist. */
  private async fetchDocument(did: string, signal: AbortSignal): Promise<unknown> {
    if (did.startsWith('did:plc:')) {
      if (!PLC_DID.test(did)) throw new DidResolutionError('DidUnresolvable', did, 'not a valid did:plc');
      const url = new URL(`${this.opts.plcUrl.replace(/\/+$/, '')}/${encodeURIComponent(did)}`);
      return getJson(did, url, this.opts.maxDocumentBytes, signal, undefined);
    }
    const { hostname, port } = parseWebHost(did);
    const address = await this.publicAddressOf(did, hostname);
    // atproto allows a did:web port only for localhost, which is refused above anyway.
    if (port !== undefined) throw new DidResolutionError('DidUnresolvable', did, 'did:web with a port is not supported');
    const url = new URL(`https://${hostname}/.well-known/did.json`);
    return getJson(did, url, this.opts.maxDocumentBytes, signal, address);
  }

  /** Every address must be public, not just the first: the connection is pinned to one we checked. */
  private async publicAddressOf(did: string, hostname: string): Promise<ResolvedAddress> {
    let addresses: ResolvedAddress[];
    if (isIP(hostname) !== 0) {
      addresses = [{ address: hostname, family: isIP(hostname) }];
    } else {
      try {
        addresses = await this.lookup(hostname);
      } catch (err) {
        throw new DidResolutionError('DidUnresolvable', did, `did:web host ${hostname} does not resolve`, { cause: err });
      }
    }
    const first = addresses[0];
    if (first === undefined) throw new DidResolutionError('DidUnresolvable', did, `did:web host ${hostname} has no address`);
    if (!addresses.every((a) => isPublicAddress(a.address))) {
      throw new DidResolutionError('DidHostForbidden', did, `did:web host ${hostname} is not on a public address`);
    }
    return first;
  }
}

interface ResolvedAddress {
  address: string;
  family: number;
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

/**
 * MemoryCache with a size bound (oldest write evicted first) and stale entries
 * refreshed in the background: MemoryCache awaits the refresh, so a slow or failing
 * PLC would fail requests that a still-valid cached key could have answered.
 */
class DidDocumentCache extends MemoryCache {
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

function parseWebHost(did: string): { hostname: string; port: string | undefined } {
  const id = did.slice('did:web:'.length);
  // Further colons are path segments, which atproto does not allow.
  if (id.includes(':')) throw new DidResolutionError('DidUnresolvable', did, 'did:web with a path is not supported');
  let decoded: string;
  try {
    decoded = decodeURIComponent(id);
  } catch {
    throw new DidResolutionError('DidUnresolvable', did, 'not a valid did:web');
  }
  const match = WEB_HOST.exec(decoded);
  if (match === null || match[1] === undefined) throw new DidResolutionError('DidUnresolvable', did, 'not a valid did:web host');
  return { hostname: match[1].toLowerCase(), port: match[2] };
}

// IPv4: everything except the special-purpose ranges (RFC 6890 and friends).
const NON_PUBLIC_V4 = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16],
  ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NON_PUBLIC_V4.addSubnet(net, bits, 'ipv4');
// IPv6: only global unicast (2000::/3), which leaves out ::, ::1, fc00::/7, fe80::/10,
// multicast and IPv4-mapped addresses; minus tunnels that can embed private IPv4 and docs.
const GLOBAL_V6 = new BlockList();
GLOBAL_V6.addSubnet('2000::', 3, 'ipv6');
const NON_PUBLIC_V6 = new BlockList();
for (const [net, bits] of [['2001::', 23], ['2001:db8::', 32], ['2002::', 16], ['3fff::', 20]] as const) NON_PUBLIC_V6.addSubnet(net, bits, 'ipv6');

/** Whether an address is reachable on the public internet (and so fine for us to fetch from). */
export function isPublicAddress(address: string): boolean {
  try {
    switch (isIP(address)) {
      case 4:
        return !NON_PUBLIC_V4.check(address, 'ipv4');
      case 6:
        return GLOBAL_V6.check(address, 'ipv6') && !NON_PUBLIC_V6.check(address, 'ipv6');
      default:
        return false;
    }
  } catch {
    return false; // e.g. a zone index BlockList will not parse
  }
}

/**
 * GET a JSON document, reading at most `maxBytes` of body; null on 404/410, which say
 * positively that the DID does not exist (the library then drops the cache entry).
 * `pinned` fixes the address the connection goes to, the one we checked, so DNS
 * cannot change between the check and the connection.
 */
function getJson(did: string, url: URL, maxBytes: number, signal: AbortSignal, pinned: ResolvedAddress | undefined): Promise<unknown> {
  return new Promise((resolve, reject) => {
    // Settle once, then drop the connection: nothing more is read from it.
    const finish = (err: DidResolutionError | undefined, doc?: unknown) => {
      if (err) reject(err);
      else resolve(doc);
      req.destroy();
    };
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, {
      method: 'GET',
      headers: { accept: 'application/did+ld+json, application/json' },
      signal,
      ...(pinned && { lookup: pinnedLookup(pinned) }),
    });
    const failed = (err: Error) => finish(new DidResolutionError('DidUnresolvable', did, `DID document fetch failed (${errorCode(err)})`, { cause: err }));
    req.on('error', failed);
    req.on('response', (res) => {
      res.on('error', failed);
      const status = res.statusCode ?? 0;
      if (status === 404 || status === 410) return finish(undefined, null);
      if (status < 200 || status > 299) return finish(new DidResolutionError('DidUnresolvable', did, `DID document fetch answered HTTP ${status}`));
      if (Number(res.headers['content-length'] ?? 0) > maxBytes) return finish(tooLarge(did, maxBytes));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) return finish(tooLarge(did, maxBytes));
        chunks.push(chunk);
      });
      res.on('end', () => {
        try {
          finish(undefined, JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          finish(new DidResolutionError('DidUnresolvable', did, 'DID document is not JSON', { cause: err }));
        }
      });
    });
    req.end();
  });
}

function tooLarge(did: string, maxBytes: number): DidResolutionError {
  return new DidResolutionError('DidDocumentTooLarge', did, `DID document is larger than ${maxBytes} bytes`);
}

/** A lookup that answers the checked address; Node asks with `all` when it races families. */
function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function asResolutionError(did: string, err: unknown): DidResolutionError {
  if (err instanceof DidResolutionError) return err;
  if (err instanceof DidNotFoundError) return new DidResolutionError('DidNotFound', did, 'DID not found', { cause: err });
  if (err instanceof PoorlyFormattedDidDocumentError) {
    return new DidResolutionError('DidUnresolvable', did, 'DID document is malformed or names another DID', { cause: err });
  }
  return new DidResolutionError('DidUnresolvable', did, 'DID resolution failed', { cause: err });
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'network error';
}
