import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppViewFollowsClient, FollowsFetchError } from '../src/atproto/follows-client.js';
import { startAppView, type StandInAppView } from '../testkit/standins/appview.js';
import { numberedDid } from '../testkit/numbered-did.js';
import { freePort } from '../testkit/processes/processes.js';

const USER = numberedDid(1);
const FOLLOWED = Array.from({ length: 250 }, (_, i) => numberedDid(1000 + i));

describe('the AppView follows client, against the stand-in AppView', () => {
  let appview: StandInAppView;
  const client = (options: Partial<{ timeoutMs: number; maxFollows: number }> = {}) =>
    new AppViewFollowsClient({ appviewUrl: appview.url, timeoutMs: 2000, maxFollows: 1000, ...options });
  const failure = async (work: Promise<unknown>) => {
    const err = await work.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(FollowsFetchError);
    return err as FollowsFetchError;
  };

  beforeAll(async () => {
    appview = await startAppView(new Map([[USER, FOLLOWED]]));
  });
  afterAll(() => appview?.close());

  it('reads every page, 100 at a time, in the AppView order', async () => {
    const before = appview.requests(USER);
    expect(await client().fetchFollows(USER)).toEqual(FOLLOWED);
    expect(appview.requests(USER) - before).toBe(3);
  });

  it('stops at the cap, without asking for the pages past it', async () => {
    const before = appview.requests(USER);
    expect(await client({ maxFollows: 150 }).fetchFollows(USER)).toEqual(FOLLOWED.slice(0, 150));
    expect(appview.requests(USER) - before).toBe(2);
  });

  it('gives up at its deadline when the AppView is slow, however many pages were read', async () => {
    appview.setFault({ kind: 'delay', ms: 5000 });
    try {
      const started = performance.now();
      const err = await failure(client({ timeoutMs: 200 }).fetchFollows(USER));
      expect(err.reason).toBe('timeout');
      expect(performance.now() - started).toBeLessThan(1000);
    } finally {
      appview.setFault(undefined);
    }
  });

  it.each([
    ['an error status', { kind: 'status', status: 500 } as const, 'http_error', /HTTP 500/],
    ['a body that is not JSON', { kind: 'malformed', body: '<html>oops' } as const, 'malformed', /not JSON/],
    ['a list without follows', { kind: 'malformed', body: JSON.stringify({ subject: { did: USER } }) } as const, 'malformed', /no follows list/],
    ['a profile whose DID is not one', { kind: 'malformed', body: JSON.stringify({ subject: { did: USER }, follows: [{ did: 'did:nope' }] }) } as const, 'malformed', /valid DID/],
    ['another subject', { kind: 'malformed', body: JSON.stringify({ subject: { did: numberedDid(2) }, follows: [] }) } as const, 'malformed', /another subject/],
    ['a cursor that is not a string', { kind: 'malformed', body: JSON.stringify({ subject: { did: USER }, follows: [], cursor: 7 }) } as const, 'malformed', /cursor/],
  ])('refuses %s with a reason', async (_what, fault, reason, message) => {
    appview.setFault(fault);
    try {
      const err = await failure(client().fetchFollows(USER));
      expect(err.reason).toBe(reason);
      expect(err.message).toMatch(message);
    } finally {
      appview.setFault(undefined);
    }
  });

  it('says network when nothing listens', async () => {
    const closed = new AppViewFollowsClient({ appviewUrl: `http://127.0.0.1:${await freePort()}`, timeoutMs: 2000, maxFollows: 10 });
    expect((await failure(closed.fetchFollows(USER))).reason).toBe('network');
  });
});
