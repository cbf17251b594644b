import { isDid } from './identifiers.js';

/** How long a resolved handle is trusted, and how many are remembered. */
const CACHE_TTL_MS = 5 * 60_000;
const CACHE_MAX = 1000;
const TIMEOUT_MS = 3000;

export class HandleResolutionError extends Error {
  override name = 'HandleResolutionError';
}

/**
 * Handles to DIDs through an identity service's `com.atproto.identity.resolveHandle`
 * (the AppView, by default): one bounded request, the answer checked to be a DID.
 * Used only where a person types a handle (the playground), never on the feed path.
 */
export class HandleResolver {
  private readonly cache = new Map<string, { did: string | undefined; at: number }>();

  constructor(private readonly serviceUrl: string) {}

  /** The handle's DID, or undefined when the service says there is no such handle. */
  async resolve(handle: string): Promise<string | undefined> {
    const key = handle.toLowerCase();
    const cached = this.cache.get(key);
    if (cached && Date.now() - cached.at < CACHE_TTL_MS) return cached.did;
    const did = await this.fetchDid(key);
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { did, at: Date.now() });
    return did;
  }

  private async fetchDid(handle: string): Promise<string | undefined> {
    const url = new URL('/xrpc/com.atproto.identity.resolveHandle', this.serviceUrl);
    url.searchParams.set('handle', handle);
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    } catch (err) {
      throw new HandleResolutionError(`the identity service did not answer: ${String(err)}`);
    }
    if (response.status === 400) return undefined; // "Unable to resolve handle"
    if (!response.ok) throw new HandleResolutionError(`the identity service answered HTTP ${response.status}`);
    const body = (await response.json().catch(() => undefined)) as { did?: unknown } | undefined;
    if (typeof body?.did !== 'string' || !isDid(body.did)) throw new HandleResolutionError('the identity service answered without a DID');
    return body.did;
  }
}
