import { DidResolutionError } from './errors.js';

/**
 * Network fetches in flight: one per DID however many requests wait on it, and at most
 * `limit` DIDs at once; past it a new DID fails at once rather than queueing, so a burst
 * of forged issuers cannot pile up sockets.
 */
export class InFlightFetches<T = unknown> {
  private readonly pending = new Map<string, Promise<T>>();

  constructor(
    private readonly limit: number,
    /** The error a fetch refused for the limit fails with. */
    private readonly busy: (key: string) => Error = (did) => new DidResolutionError('DidResolverBusy', did, 'too many DID documents are being fetched; try again'),
  ) {}

  run(did: string, fetch: () => Promise<T>): Promise<T> {
    let pending = this.pending.get(did);
    if (pending !== undefined) return pending;
    if (this.pending.size >= this.limit) return Promise.reject(this.busy(did));
    pending = fetch().finally(() => this.pending.delete(did));
    this.pending.set(did, pending);
    return pending;
  }
}
