import { DidResolutionError } from './errors.js';

/**
 * Network fetches in flight: one per DID however many requests wait on it, and at most
 * `limit` DIDs at once; past it a new DID fails at once rather than queueing, so a burst
 * of forged issuers cannot pile up sockets.
 */
export class InFlightFetches {
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(private readonly limit: number) {}

  run(did: string, fetch: () => Promise<unknown>): Promise<unknown> {
    let pending = this.pending.get(did);
    if (pending !== undefined) return pending;
    if (this.pending.size >= this.limit) {
      return Promise.reject(new DidResolutionError('DidResolverBusy', did, 'too many DID documents are being fetched; try again'));
    }
    pending = fetch().finally(() => this.pending.delete(did));
    this.pending.set(did, pending);
    return pending;
  }
}
