import type { DidDocument } from '@atproto/identity';
import { describe, expect, it, vi } from 'vitest';
import { DidDocumentCache, FailureMemory, ForcedRefreshThrottle } from '../src/atproto/did/cache.js';
import { DidResolutionError } from '../src/atproto/did/errors.js';
import { InFlightFetches } from '../src/atproto/did/in-flight.js';

const doc = (did: string): DidDocument => ({ id: did });
const HOUR = 60 * 60_000;

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('DID document cache', () => {
  it('holds at most maxEntries documents, evicting the oldest write', async () => {
    const cache = new DidDocumentCache(HOUR, 24 * HOUR, 2);
    for (const did of ['did:plc:a', 'did:plc:b', 'did:plc:c']) await cache.cacheDid(did, doc(did));
    expect(await cache.checkCache('did:plc:a')).toBeNull();
    expect((await cache.checkCache('did:plc:b'))?.doc).toEqual(doc('did:plc:b'));
    expect((await cache.checkCache('did:plc:c'))?.doc).toEqual(doc('did:plc:c'));
  });

  it('counts a rewrite as the newest entry', async () => {
    const cache = new DidDocumentCache(HOUR, 24 * HOUR, 2);
    await cache.cacheDid('did:plc:a', doc('did:plc:a'));
    await cache.cacheDid('did:plc:b', doc('did:plc:b'));
    await cache.cacheDid('did:plc:a', doc('did:plc:a'));
    await cache.cacheDid('did:plc:c', doc('did:plc:c'));
    expect(await cache.checkCache('did:plc:b')).toBeNull();
    expect(await cache.checkCache('did:plc:a')).not.toBeNull();
  });

  it('refreshes in the background: a hanging or failing source neither blocks nor drops the stale document', async () => {
    const cache = new DidDocumentCache(0, 24 * HOUR, 10);
    await cache.cacheDid('did:plc:a', doc('did:plc:a'));
    await cache.refreshCache('did:plc:a', () => new Promise<never>(() => {}));
    await cache.refreshCache('did:plc:a', () => Promise.reject(new Error('PLC down')));
    await new Promise((resolve) => setImmediate(resolve));
    expect((await cache.checkCache('did:plc:a'))?.doc).toEqual(doc('did:plc:a'));
  });

  it('takes the refreshed document once the source answers', async () => {
    const cache = new DidDocumentCache(0, 24 * HOUR, 10);
    await cache.cacheDid('did:plc:a', doc('did:plc:a'));
    const rotated = { ...doc('did:plc:a'), alsoKnownAs: ['at://rotated.test'] };
    await cache.refreshCache('did:plc:a', async () => rotated);
    await expect.poll(async () => (await cache.checkCache('did:plc:a'))?.doc).toEqual(rotated);
  });
});

describe('failure memory', () => {
  const notFound = (did: string) => new DidResolutionError('DidNotFound', did, 'DID not found');

  it('refuses a failed DID for the TTL, then lets it be tried again', () => {
    const clock = manualClock();
    const memory = new FailureMemory(60_000, clock.now);
    const error = notFound('did:plc:a');
    memory.remember('did:plc:a', error);
    expect(memory.recent('did:plc:a')).toBe(error);
    expect(memory.recent('did:plc:b')).toBeUndefined();
    clock.advance(59_999);
    expect(memory.recent('did:plc:a')).toBe(error);
    clock.advance(1);
    expect(memory.recent('did:plc:a')).toBeUndefined();
  });

  it('does not hold being busy against a DID', () => {
    const memory = new FailureMemory(60_000);
    memory.remember('did:plc:a', new DidResolutionError('DidResolverBusy', 'did:plc:a', 'busy'));
    expect(memory.recent('did:plc:a')).toBeUndefined();
  });

  it('remembers nothing with a TTL of 0', () => {
    const memory = new FailureMemory(0);
    memory.remember('did:plc:a', notFound('did:plc:a'));
    expect(memory.recent('did:plc:a')).toBeUndefined();
  });

  it('stays bounded: the oldest failures are forgotten under a flood of DIDs', () => {
    const memory = new FailureMemory(60_000);
    for (let i = 0; i < 25_000; i++) memory.remember(`did:plc:${i}`, notFound(`did:plc:${i}`));
    expect(memory.recent('did:plc:0')).toBeUndefined();
    expect(memory.recent('did:plc:24999')).toBeDefined();
  });
});

describe('forced refresh throttle', () => {
  it('allows one cache bypass per DID per interval', () => {
    const clock = manualClock();
    const throttle = new ForcedRefreshThrottle(10_000, clock.now);
    expect(throttle.allow('did:plc:a')).toBe(true);
    expect(throttle.allow('did:plc:a')).toBe(false);
    expect(throttle.allow('did:plc:b')).toBe(true);
    clock.advance(9_999);
    expect(throttle.allow('did:plc:a')).toBe(false);
    clock.advance(1);
    expect(throttle.allow('did:plc:a')).toBe(true);
  });
});

describe('in-flight fetches', () => {
  /** A fetch the test settles by hand. */
  function pendingFetch() {
    let settle!: (value: unknown) => void;
    const promise = new Promise((resolve) => (settle = resolve));
    return { fetch: vi.fn(() => promise), settle };
  }

  it('shares one fetch among every request for the same DID', async () => {
    const inFlight = new InFlightFetches(4);
    const { fetch, settle } = pendingFetch();
    const answers = [inFlight.run('did:plc:a', fetch), inFlight.run('did:plc:a', fetch), inFlight.run('did:plc:a', fetch)];
    settle({ id: 'did:plc:a' });
    expect(await Promise.all(answers)).toEqual([{ id: 'did:plc:a' }, { id: 'did:plc:a' }, { id: 'did:plc:a' }]);
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('refuses a new DID past the limit, still joins one in flight, and admits again once one is done', async () => {
    const inFlight = new InFlightFetches(2);
    const a = pendingFetch();
    const b = pendingFetch();
    const first = inFlight.run('did:plc:a', a.fetch);
    void inFlight.run('did:plc:b', b.fetch);
    const refused = await inFlight.run('did:plc:c', vi.fn()).catch((e: unknown) => e);
    expect((refused as DidResolutionError).name).toBe('DidResolverBusy');
    expect(inFlight.run('did:plc:a', vi.fn())).toBe(first);
    a.settle(null);
    await first;
    const c = pendingFetch();
    const third = inFlight.run('did:plc:c', c.fetch);
    c.settle({ id: 'did:plc:c' });
    expect(await third).toEqual({ id: 'did:plc:c' });
    b.settle(null);
  });
});
