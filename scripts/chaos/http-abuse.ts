/**
 * HTTP abuse of the real service process: random requests (parameters, cursors,
 * headers, bodies, unknown routes, bytes that are not HTTP), forged, expired and
 * replayed JWTs, DID documents that are huge, slow or on private addresses, bodies
 * over the limit, request floods, forged tokens with new issuers by the thousand, and
 * slow clients. No 5xx, no crash, every bad token
 * a 401 with its own error name, the rate limits applied, slow clients cut off.
 */
import { P256Keypair, Secp256k1Keypair } from '@atproto/crypto';
import { createServiceJwt } from '@atproto/xrpc-server';
import { randomPlcDid } from '../../testkit/standins/plc-directory.js';
import { FEED_URI, forgedBearer, SERVICE_DID, type SignedUser } from '../../testkit/processes/feed-service.js';
import { type ChaosContext, type ChaosScenario, Checks } from './outcome.js';
import { type AbuseTarget, startAbuseTarget } from './support/abuse-target.js';
import { RandomRequests } from './support/random-requests.js';
import { errorName, type RawRequest, type RawResponse, send, sendBytes } from './support/raw-http.js';
import { slowClient } from './support/slow-clients.js';

const SKELETON = 'app.bsky.feed.getFeedSkeleton';
const INTERACTIONS = 'app.bsky.feed.sendInteractions';
const SKELETON_PATH = `/xrpc/${SKELETON}?feed=${encodeURIComponent(FEED_URI)}&limit=10`;

export const httpAbuse: ChaosScenario = {
  name: 'http-abuse',
  summary: 'random and hostile HTTP requests, bad JWTs, hostile DID documents, floods and slow clients against the real service',
  inCi: true,
  async run(ctx) {
    const checks = new Checks('http-abuse');
    const full = ctx.size === 'full';
    const target = await startAbuseTarget(ctx, full ? 50_000 : 20_000, 12);
    try {
      await randomRequests(ctx, target, full ? 10_000 : 3_000, checks);
      await badTokens(ctx, target, checks);
      await hostileDidDocuments(ctx, target, checks);
      await oversizedBodies(target, checks);
      await rateLimits(ctx, target, checks);
      await forgedIssuerFlood(ctx, target, full ? 30_000 : 10_000, checks);
      await slowClients(ctx, target, full ? 200 : 50, checks);
      const health = await send(target.port, { method: 'GET', path: '/xrpc/_health' });
      checks.check('the process is still up and healthy at the end', target.alive() && health.status === 200, `health ${health.status}`);
    } finally {
      await target.stop();
    }
    return checks.rows;
  },
};

/** Random requests at a steady concurrency; every status counted. */
async function randomRequests(ctx: ChaosContext, target: AbuseTarget, count: number, checks: Checks): Promise<void> {
  const [skeletonTokens, interactionTokens] = await Promise.all([tokensFor(target.users, SKELETON), tokensFor(target.users, INTERACTIONS)]);
  const random = new RandomRequests(42, { skeleton: skeletonTokens, interactions: interactionTokens }, target.users);
  const statuses = new Map<number, number>();
  const serverErrors: string[] = [];
  let sent = 0;
  const started = Date.now();
  await pool(16, count, async () => {
    const next = random.next();
    // From an address of its own: its failed sign-ins spend that address's budget alone.
    const res = next.kind === 'http' ? await send(target.port, { ...next.request, from: '127.0.0.4' }) : await sendBytes(target.port, next.bytes);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status >= 500 || res.status === 0) serverErrors.push(`${res.status} ${next.label} ${describe(next)}: ${res.body.slice(0, 120)}`);
    if (++sent % 1000 === 0) ctx.log(`${sent} of ${count} random requests`);
  });
  const byStatus = [...statuses].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s === 0 ? 'no answer' : s === -1 ? 'refused by client' : s}: ${n}`).join(', ');
  checks.check(
    `${count} random requests (params, cursors, headers, bodies, routes, non-HTTP bytes): no 5xx, every one answered`,
    serverErrors.length === 0 && target.alive(),
    `${byStatus} in ${((Date.now() - started) / 1000).toFixed(0)} s${serverErrors.length ? `; e.g. ${serverErrors.slice(0, 2).join(' | ')}` : ''}`,
  );
}

/** Every class of bad token is a 401 whose error name says what was wrong; a valid token replays until it expires. */
async function badTokens(ctx: ChaosContext, target: AbuseTarget, checks: Checks): Promise<void> {
  const [alice, bob] = target.users as [SignedUser, SignedUser];
  const now = Math.floor(Date.now() / 1000);
  const jwt = (opts: Partial<Parameters<typeof createServiceJwt>[0]>) =>
    createServiceJwt({ iss: alice.did, aud: SERVICE_DID, lxm: SKELETON, keypair: alice.key, ...opts }).then((t) => `Bearer ${t}`);
  const unsigned = (header: object, payload: object) => `Bearer ${b64(header)}.${b64(payload)}.${Buffer.from('signature').toString('base64url')}`;
  const cases: Array<[string, string, string]> = [
    ['signed with another key', await jwt({ keypair: await Secp256k1Keypair.create() }), 'BadJwtSignature'],
    ['signed with another key type', await jwt({ keypair: await P256Keypair.create() }), 'BadJwtSignature'],
    ['alg none', unsigned({ alg: 'none', typ: 'JWT' }, { iss: alice.did, aud: SERVICE_DID, lxm: SKELETON, exp: now + 60 }), 'BadJwtSignature'],
    ['another audience', await jwt({ aud: 'did:web:other.example.com' }), 'BadJwtAudience'],
    ['another method (lxm)', await jwt({ lxm: INTERACTIONS }), 'BadJwtLexiconMethod'],
    ['no lxm', await jwt({ lxm: null }), 'BadJwtLexiconMethod'],
    ['expired', await jwt({ exp: now - 30 }), 'JwtExpired'],
    ['issuer not registered', await jwt({ iss: randomPlcDid() }), 'DidNotFound'],
    ['did:key issuer', await jwt({ iss: alice.key.did() }), 'DidUnresolvable'],
    ['service issuer (did#svc)', await jwt({ iss: `${alice.did}#bsky_fg` }), 'BadJwtIss'],
    ['three garbage parts', 'Bearer a.b.c', 'BadJwt'],
    ['not a JWT', 'Bearer not-a-jwt', 'BadJwtFormat'],
    ['Basic scheme', `Basic ${Buffer.from('user:pass').toString('base64')}`, 'BadAuthScheme'],
    ['a 9 KiB header', `Bearer ${'a'.repeat(9 * 1024)}`, 'AuthHeaderTooLong'],
    ['typ at+jwt', `Bearer ${(await jwt({})).slice(7).replace(/^[^.]+/, b64({ alg: 'ES256K', typ: 'at+jwt' }))}`, 'BadJwtType'],
  ];
  const wrong: string[] = [];
  for (const [label, authorization, expected] of cases) {
    for (let i = 0; i < 3; i++) {
      const res = await send(target.port, { method: 'GET', path: SKELETON_PATH, headers: { authorization }, from: '127.0.0.5' });
      const name = errorName(res.body);
      if (res.status !== 401 || name !== expected || res.body.includes(authorization.slice(7, 47))) wrong.push(`${label}: ${res.status} ${name ?? res.body.slice(0, 60)}`);
    }
  }
  checks.check(
    `${cases.length} classes of bad token (forged, alg none, audience, lxm, expired, unknown issuer, garbage...) -> 401 with the specific error name`,
    wrong.length === 0,
    wrong.length === 0 ? `${cases.length * 3} requests, names: ${[...new Set(cases.map((c) => c[2]))].join(', ')}` : wrong.slice(0, 4).join('; '),
  );

  // Replays: service JWTs carry no nonce and src/atproto remembers a verified token until its exp
  // (at most 60 s): a replay is accepted while the token lives, as the README documents,
  // limited only by the per-user rate limit; once expired it is refused.
  const exp = Math.floor(Date.now() / 1000) + 4;
  const shortLived = `Bearer ${await createServiceJwt({ iss: bob.did, aud: SERVICE_DID, lxm: SKELETON, keypair: bob.key, exp })}`;
  const replays: number[] = [];
  for (let i = 0; i < 20; i++) replays.push((await send(target.port, { method: 'GET', path: SKELETON_PATH, headers: { authorization: shortLived } })).status);
  while (Date.now() / 1000 <= exp + 1) await new Promise((resolve) => setTimeout(resolve, 200));
  const afterExpiry = await send(target.port, { method: 'GET', path: SKELETON_PATH, headers: { authorization: shortLived } });
  checks.check(
    'a valid token replayed 20 times is served until its exp, then refused (401 JwtExpired, not served from the cache)',
    replays.every((s) => s === 200) && afterExpiry.status === 401 && errorName(afterExpiry.body) === 'JwtExpired',
    `replays ${summarize(replays)}; after exp ${afterExpiry.status} ${errorName(afterExpiry.body)}`,
  );
  ctx.log('bad tokens done');
}

/** DID documents that are huge, slow, or on addresses we must never fetch from. */
async function hostileDidDocuments(ctx: ChaosContext, target: AbuseTarget, checks: Checks): Promise<void> {
  const plcCase = async (fault: Parameters<AbuseTarget['plc']['register']>[2]) => {
    const key = await Secp256k1Keypair.create();
    const did = randomPlcDid();
    target.plc.register(did, key, fault);
    return { did, key };
  };
  const cases = [
    { label: 'a 4 MB document', who: await plcCase({ kind: 'huge', bytes: 4_000_000 }), expected: 'DidDocumentTooLarge' },
    { label: 'headers after 6 s', who: await plcCase({ kind: 'slow', delayMs: 6000 }), expected: 'DidResolutionTimeout' },
    { label: 'half the body, the rest after 6 s', who: await plcCase({ kind: 'slow', delayMs: 6000, stage: 'body' }), expected: 'DidResolutionTimeout' },
    ...['127.0.0.1', '10.1.2.3', '169.254.169.254', '192.168.1.1', 'localhost', '[::1]'].map((host) => ({
      label: `did:web:${host}`,
      who: { did: `did:web:${encodeURIComponent(host)}`, key: undefined },
      expected: host === '[::1]' ? 'DidUnresolvable' : 'DidHostForbidden',
    })),
  ];
  const wrong: string[] = [];
  const timings: string[] = [];
  for (const { label, who, expected } of cases) {
    const keypair = who.key ?? (await Secp256k1Keypair.create());
    const authorization = `Bearer ${await createServiceJwt({ iss: who.did, aud: SERVICE_DID, lxm: SKELETON, keypair })}`;
    // Five at once: one fetch for all of them, and the failure remembered for the next ones.
    const first = await Promise.all(Array.from({ length: 5 }, () => send(target.port, { method: 'GET', path: SKELETON_PATH, headers: { authorization } })));
    const again = await send(target.port, { method: 'GET', path: SKELETON_PATH, headers: { authorization } });
    for (const res of [...first, again]) if (res.status !== 401 || errorName(res.body) !== expected) wrong.push(`${label}: ${res.status} ${errorName(res.body)}`);
    const fetches = who.did.startsWith('did:plc:') ? target.plc.requests(who.did) : 0;
    if (fetches > 1) wrong.push(`${label}: ${fetches} fetches`);
    timings.push(`${label} ${(Math.max(...first.map((r) => r.ms)) / 1000).toFixed(1)} s then ${again.ms.toFixed(0)} ms`);
  }
  checks.check(
    'huge (4 MB), slow (6 s > 3 s deadline) and private-address DID documents -> 401 with their name, one fetch per DID, failure remembered',
    wrong.length === 0 && target.alive(),
    wrong.length === 0 ? timings.join('; ') : wrong.slice(0, 4).join('; '),
  );
  ctx.log('hostile DID documents done');
}

/** Bodies over sendInteractions' 256 KiB: 413 whether they declare their length or stream it; 401 without a JWT (checked before the body is read). */
async function oversizedBodies(target: AbuseTarget, checks: Checks): Promise<void> {
  const user = target.users[3]!;
  const authorization = await user.bearer(INTERACTIONS);
  const big = JSON.stringify({ interactions: [{ event: 'app.bsky.feed.defs#interactionSeen', feedContext: 'x'.repeat(300 * 1024) }] });
  const requests: Array<[string, RawRequest, number, string]> = [
    ['300 KiB with Content-Length and a JWT', { method: 'POST', path: `/xrpc/${INTERACTIONS}`, headers: { authorization, 'content-type': 'application/json' }, body: big }, 413, 'PayloadTooLarge'],
    ['300 KiB without a JWT', { method: 'POST', path: `/xrpc/${INTERACTIONS}`, headers: { 'content-type': 'application/json' }, body: big }, 401, 'AuthMissing'],
    ['2 MiB chunked', { method: 'POST', path: `/xrpc/${INTERACTIONS}`, headers: { authorization, 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, body: 'x'.repeat(2 << 20) }, 413, 'PayloadTooLarge'],
  ];
  const results: string[] = [];
  let ok = true;
  for (const [label, request, status, error] of requests) {
    const res = await send(target.port, request);
    results.push(`${label}: ${res.status} ${errorName(res.body) ?? ''}`);
    if (res.status !== status || errorName(res.body) !== error) ok = false;
  }
  checks.check('bodies over the 256 KiB limit -> 413 PayloadTooLarge with a JWT, 401 AuthMissing without', ok && target.alive(), results.join('; '));
}

/** Floods: the per-address anonymous limit and the per-user limits answer 429 past their burst. */
async function rateLimits(ctx: ChaosContext, target: AbuseTarget, checks: Checks): Promise<void> {
  // Let every bucket refill first (burst 400 at 200/s, burst 30 at 10/s).
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const flood = async (count: number, concurrency: number, request: RawRequest) => {
    const statuses: number[] = [];
    const started = Date.now();
    await pool(concurrency, count, async () => {
      statuses.push((await send(target.port, request)).status);
    });
    return { statuses, seconds: (Date.now() - started) / 1000 };
  };
  const anonymous = await flood(1500, 32, { method: 'GET', path: SKELETON_PATH });
  const user = target.users[4]!;
  const signed = await flood(100, 8, { method: 'GET', path: SKELETON_PATH, headers: { authorization: await user.bearer(SKELETON) } });
  const writes = await flood(100, 8, {
    method: 'POST',
    path: `/xrpc/${INTERACTIONS}`,
    headers: { authorization: await user.bearer(INTERACTIONS), 'content-type': 'application/json' },
    body: JSON.stringify({ interactions: [{ item: FEED_URI, event: 'app.bsky.feed.defs#interactionSeen' }] }),
  });
  // Allowed at most: the burst plus the refill over the flood's duration (and one for rounding).
  const within = (r: { statuses: number[]; seconds: number }, burst: number, perSecond: number) =>
    count(r.statuses, 200) <= burst + perSecond * r.seconds + 1 && count(r.statuses, 429) > 0 && r.statuses.every((s) => s === 200 || s === 429);
  checks.check(
    'getFeedSkeleton floods: anonymous per address (burst 400, 200/s) and per user (burst 30, 10/s) -> 429 RateLimitExceeded past the limit',
    within(anonymous, 400, 200) && within(signed, 30, 10),
    `anonymous ${summarize(anonymous.statuses)} in ${anonymous.seconds.toFixed(1)} s; one user ${summarize(signed.statuses)} in ${signed.seconds.toFixed(1)} s`,
  );
  // A user's DID with another key, from an address of its own: its failed sign-ins are limited (burst 100, 20/s).
  const forged = await flood(300, 16, {
    method: 'GET',
    path: SKELETON_PATH,
    headers: { authorization: `Bearer ${await createServiceJwt({ iss: user.did, aud: SERVICE_DID, lxm: SKELETON, keypair: await Secp256k1Keypair.create() })}` },
    from: '127.0.0.3',
  });
  const forgedWithin = count(forged.statuses, 401) <= 100 + 20 * forged.seconds + 16 && count(forged.statuses, 429) > 0;
  checks.check(
    'sendInteractions flood by one user -> 429 past burst 30, 10/s; forged-token flood from one address: 401 BadJwtSignature, then 429 past its failed sign-ins (burst 100, 20/s)',
    within(writes, 30, 10) && forgedWithin && forged.statuses.every((s) => s === 401 || s === 429),
    `interactions ${summarize(writes.statuses)} in ${writes.seconds.toFixed(1)} s; forged ${summarize(forged.statuses)} in ${forged.seconds.toFixed(1)} s`,
  );
  ctx.log('rate limits done');
}

/**
 * Forged tokens by the thousand, each with a new random issuer (each would cost a DID
 * fetch), from one address, while signed-in users on another address read their feeds:
 * the flood's fetches are bounded by the failed sign-in limit, and the users are served.
 */
async function forgedIssuerFlood(ctx: ChaosContext, target: AbuseTarget, total: number, checks: Checks): Promise<void> {
  const readers = target.users.slice(5, 11);
  const read = async (user: SignedUser) => send(target.port, { method: 'GET', path: SKELETON_PATH, headers: { authorization: await user.bearer(SKELETON) } });
  // Each reader at 8 requests a second, within its own limit (10/s), until told to stop.
  const readAtPace = async (until: () => boolean) => {
    const answers: RawResponse[] = [];
    await Promise.all(
      readers.map(async (user) => {
        while (!until()) {
          const started = Date.now();
          answers.push(await read(user));
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, 125 - (Date.now() - started))));
        }
      }),
    );
    return answers;
  };
  await new Promise((resolve) => setTimeout(resolve, 3000)); // every limit refilled
  const quietUntil = Date.now() + 5000;
  const before = await readAtPace(() => Date.now() > quietUntil);

  const fetchesBefore = target.plc.totalRequests();
  const statuses: number[] = [];
  let done = false;
  const started = Date.now();
  const during = readAtPace(() => done);
  await pool(16, total, async () => {
    statuses.push((await send(target.port, { method: 'GET', path: SKELETON_PATH, headers: { authorization: forgedBearer(SKELETON) }, from: '127.0.0.2' })).status);
    if (statuses.length % 2500 === 0) ctx.log(`${statuses.length} of ${total} forged tokens`);
  });
  done = true;
  const seconds = (Date.now() - started) / 1000;
  const fetches = target.plc.totalRequests() - fetchesBefore;
  const served = await during;

  const p = (rs: RawResponse[], q: number) => quantile(rs.map((r) => r.ms), q);
  const bound = 100 + 20 * seconds + 16; // burst, refill, and the requests already in flight
  const allServed = served.length > 0 && served.every((r) => r.status === 200);
  // The target is 50 ms. The readers share this process and the machine's 2 cores with the
  // 16 senders of the flood, so their p99 (the 3rd worst of ~250) moves with the machine: on
  // one machine, 1.1-2.6x the same readers' p99 before the flood, with this code and with the
  // code before the ranker's retuning alike (45-77 ms). Starved users, waiting behind the
  // flood's DID fetches, would wait seconds: 3x the quiet p99 still tells them apart.
  const p99Bound = Math.max(50, 3 * p(before, 0.99));
  checks.check(
    `${total} forged tokens with random issuers from one address: DID fetches bounded (burst 100 + 20/s), the rest 429 unread; signed-in users on another address all served, p99 <= 50 ms (or 3x the p99 before the flood)`,
    fetches <= bound && statuses.every((s) => s === 401 || s === 429) && allServed && p(served, 0.99) <= p99Bound && target.alive(),
    `${summarize(statuses)} in ${seconds.toFixed(1)} s (${(total / seconds).toFixed(0)}/s); ${fetches} DID fetches (${(fetches / seconds).toFixed(1)}/s, bound ${bound.toFixed(0)}); ` +
      `users ${summarize(served.map((r) => r.status))}, p50 ${p(served, 0.5).toFixed(1)} ms p99 ${p(served, 0.99).toFixed(1)} ms (before the flood: p50 ${p(before, 0.5).toFixed(1)} ms p99 ${p(before, 0.99).toFixed(1)} ms)`,
  );
}

/** Slowloris and slow bodies: cut off by the server's timeouts while everyone else is served as before. */
async function slowClients(ctx: ChaosContext, target: AbuseTarget, perKind: number, checks: Checks): Promise<void> {
  const probe = () => send(target.port, { method: 'GET', path: '/xrpc/app.bsky.feed.describeFeedGenerator' });
  const before: RawResponse[] = [];
  for (let i = 0; i < 30; i++) before.push(await probe());
  const giveUpMs = 40_000;
  const clients = [
    ...Array.from({ length: perKind }, () => slowClient(target.port, 'headers', giveUpMs)),
    ...Array.from({ length: perKind }, () => slowClient(target.port, 'body', giveUpMs)),
  ];
  ctx.log(`${clients.length} slow clients open, probing normal requests meanwhile`);
  const during: RawResponse[] = [];
  let settled = false;
  const all = Promise.all(clients.map((c) => c.closedAfter)).finally(() => (settled = true));
  while (!settled) {
    during.push(await probe());
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const closed = await all;
  clients.forEach((c) => c.stop());
  const headerCuts = closed.slice(0, perKind);
  const bodyCuts = closed.slice(perKind);
  const cutAll = closed.every((s) => s !== undefined);
  const servedAll = during.every((r) => r.status === 200);
  const p = (rs: RawResponse[], q: number) => quantile(rs.map((r) => r.ms), q);
  checks.check(
    `${perKind} slowloris + ${perKind} slow-body connections are closed by the server, other requests served meanwhile`,
    cutAll && servedAll && target.alive(),
    `headers cut after ${range(headerCuts)}, bodies after ${range(bodyCuts)} (gave up at ${giveUpMs / 1000} s); ${during.length} normal requests meanwhile, ` +
      `${count(during.map((r) => r.status), 200)} OK, p50 ${p(during, 0.5).toFixed(1)} ms p99 ${p(during, 0.99).toFixed(1)} ms (before: p50 ${p(before, 0.5).toFixed(1)} ms)`,
  );
}

async function tokensFor(users: SignedUser[], lxm: string): Promise<string[]> {
  return Promise.all(users.map((u) => u.bearer(lxm)));
}

/** Runs `task` `total` times with at most `concurrency` at once. */
async function pool(concurrency: number, total: number, task: () => Promise<void>): Promise<void> {
  let started = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < total) {
        started++;
        await task();
      }
    }),
  );
}

function describe(next: ReturnType<RandomRequests['next']>): string {
  return next.kind === 'http' ? `${next.request.method} ${next.request.path.slice(0, 80)}` : JSON.stringify(next.bytes.slice(0, 40));
}

function summarize(statuses: number[]): string {
  const counts = new Map<number, number>();
  for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${n}x${s}`).join(' ');
}

function count(statuses: number[], status: number): number {
  return statuses.filter((s) => s === status).length;
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function range(seconds: Array<number | undefined>): string {
  const known = seconds.filter((s): s is number => s !== undefined);
  const open = seconds.length - known.length;
  if (known.length === 0) return `none (${open} still open)`;
  return `${Math.min(...known).toFixed(0)}-${Math.max(...known).toFixed(0)} s${open ? ` (${open} still open)` : ''}`;
}

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
