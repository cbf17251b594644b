/**
 * Forged-token floods: an address's failed sign-ins are limited before its tokens are
 * read, so random issuers stop costing DID fetches, while other addresses (the AppView
 * carrying real users) are served as before. Real HTTP from two loopback addresses,
 * real JWTs, the PLC stand-in counting every fetch.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEED_URI, feedIdentityEnv, forgedBearer, registerUser, type SignedUser } from '../testkit/processes/feed-service.js';
import { type PlcDirectory, startPlcDirectory } from '../testkit/standins/plc-directory.js';
import { type HttpApp, startHttpApp } from './support/http-app.js';

const SKELETON = 'app.bsky.feed.getFeedSkeleton';
const ATTACKER = '127.0.0.2';
const USER_ADDRESS = '127.0.0.1';
/** FAILED_AUTH_RATE_LIMIT in src/http/server.ts. */
const BURST = 100;
const PER_SECOND = 20;

let plc: PlcDirectory;
let app: HttpApp;
let alice: SignedUser;

beforeAll(async () => {
  plc = await startPlcDirectory();
  app = await startHttpApp(feedIdentityEnv(plc));
  alice = await registerUser(plc);
});
afterAll(async () => {
  await app.close();
  await plc.close();
});

/** One getFeedSkeleton from `localAddress`: its status and error name. */
function getSkeleton(localAddress: string, authorization: string): Promise<{ status: number; error?: string }> {
  const url = new URL(`${app.url}/xrpc/${SKELETON}?feed=${encodeURIComponent(FEED_URI)}`);
  return new Promise((resolve, reject) => {
    const req = http.get(url, { localAddress, headers: { authorization }, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, error: (JSON.parse(body) as { error?: string }).error }));
    });
    req.on('error', reject);
  });
}

describe('failed sign-ins per client address', () => {
  it('a flood of forged issuers costs at most the burst and the refill in DID fetches, then 429s unread', async () => {
    const fetchesBefore = plc.totalRequests();
    const started = Date.now();
    const answers: Array<{ status: number; error?: string }> = [];
    for (let i = 0; i < 400; i++) answers.push(await getSkeleton(ATTACKER, forgedBearer(SKELETON)));
    const seconds = (Date.now() - started) / 1000;
    const fetches = plc.totalRequests() - fetchesBefore;

    const unauthorized = answers.filter((a) => a.status === 401);
    const limited = answers.filter((a) => a.status === 429);
    expect(unauthorized.length + limited.length).toBe(answers.length);
    expect(unauthorized.every((a) => a.error === 'DidNotFound')).toBe(true);
    expect(limited.every((a) => a.error === 'RateLimitExceeded')).toBe(true);
    // Each 401 fetched one issuer's document; the 429s fetched nothing.
    expect(fetches).toBe(unauthorized.length);
    expect(unauthorized.length).toBeGreaterThanOrEqual(BURST);
    expect(unauthorized.length).toBeLessThanOrEqual(BURST + PER_SECOND * seconds + 1);
    expect(limited.length).toBeGreaterThan(0);
    expect(await app.metric('feedgen_auth_rejections_total', { error: 'FailedAuthLimited' })).toBe(limited.length);
    expect(await app.metric('feedgen_auth_rejections_total', { error: 'DidNotFound' })).toBe(unauthorized.length);
  });

  it('another address is not held back: a signed-in user passes auth meanwhile', async () => {
    // The attacker spends its budget again; alice's valid token from another address then
    // gets past auth to the feed, which is not loaded here (503 NotReady, not 401 or 429).
    let answer;
    do answer = await getSkeleton(ATTACKER, forgedBearer(SKELETON));
    while (answer.status === 401);
    expect(answer.status).toBe(429);
    expect(await getSkeleton(USER_ADDRESS, await alice.bearer(SKELETON))).toEqual({ status: 503, error: 'NotReady' });
  });

  it('the budget refills: the limited address is heard again a moment later', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await getSkeleton(ATTACKER, forgedBearer(SKELETON))).toEqual({ status: 401, error: 'DidNotFound' });
  });

  it('valid tokens never spend from the budget', async () => {
    await new Promise((resolve) => setTimeout(resolve, BURST / PER_SECOND * 1000 + 500));
    // Six users, each well within its own limit (burst 30): 120 valid sign-ins from one address.
    const users = await Promise.all(Array.from({ length: 6 }, () => registerUser(plc)));
    for (let i = 0; i < BURST + 20; i++) expect(await getSkeleton(USER_ADDRESS, await users[i % users.length]!.bearer(SKELETON))).toEqual({ status: 503, error: 'NotReady' });
    expect(await getSkeleton(USER_ADDRESS, forgedBearer(SKELETON))).toEqual({ status: 401, error: 'DidNotFound' });
  });
});
