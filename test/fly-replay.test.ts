import { VERSION } from '../src/version.js';
import { createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Database } from 'better-sqlite3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configFromEnv } from '../src/config/config.js';
import { ConfigError } from '../src/config/env.js';
import { openReader } from '../src/store/database.js';
import { WriteFailedError } from '../src/ingest/writer/writer-thread.js';
import { formatFlyReplaySrc, parseFlyFields, parseFlyReplay, parseFlyReplaySrc } from '../src/http/fly-headers.js';
import { staleness } from '../src/http/replay-to-primary.js';
import { type FlyEdge, startFlyEdge } from '../testkit/standins/fly-edge.js';
import { type JetstreamReplayServer, startJetstreamReplay } from '../testkit/standins/jetstream-server.js';
import { type PlcDirectory, startPlcDirectory } from '../testkit/standins/plc-directory.js';
import { FEED_HOSTNAME, FEED_URI, PUBLISHER_DID, registerUser, type SignedUser } from '../testkit/processes/feed-service.js';
import { CAPTURE_FILE, jsonlLines } from '../testkit/fixtures.js';
import { FakeReplicaStatus, type HttpApp, markedFeed, startHttpApp } from './support/http-app.js';
import { startTestService, testConfig, waitFor } from '../testkit/processes/service.js';

const SEND = 'app.bsky.feed.sendInteractions';
const SKELETON = `/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams({ feed: FEED_URI, limit: '5' })}`;
const SEEN = 'app.bsky.feed.defs#interactionSeen';
const SOME_POST = 'at://did:plc:aaaaaaaaaaaaaaaaaaaaaaaa/app.bsky.feed.post/3kabcdefghij2';

describe('Fly routing headers', () => {
  it('parses fly-replay as Fly documents it', () => {
    expect(parseFlyReplay('region=sjc')).toMatchObject({ regions: ['sjc'] });
    expect(parseFlyReplay('region="iad,ord,us,na"')).toMatchObject({ regions: ['iad', 'ord', 'us', 'na'] });
    expect(parseFlyReplay('region="sjc,any";app=app-in-same-org')).toMatchObject({ regions: ['sjc', 'any'], app: 'app-in-same-org' });
    expect(parseFlyReplay('instance=00bb33ff')).toMatchObject({ regions: [], instance: '00bb33ff' });
    expect(parseFlyReplay(' region = pri ; state=write ;')).toMatchObject({ regions: ['pri'], state: 'write' });
    expect(parseFlyReplay('app=my-worker;timeout=5s;fallback=force_self')?.fields).toEqual({ app: 'my-worker', timeout: '5s', fallback: 'force_self' });
  });

  it.each(['', 'region', '=sjc', 'region=sjc;;state=x', 'region="sjc', 'state=only-a-state', 'region='])('refuses fly-replay %j', (value) => {
    expect(parseFlyReplay(value)).toBeUndefined();
  });

  it('keeps quoted separators inside a value', () => {
    expect(parseFlyFields('region="a;b,c";state=x=y')).toEqual({ region: 'a;b,c', state: 'x=y' });
  });

  it('formats and parses fly-replay-src', () => {
    const src = { instance: '0123456789abcd', region: 'rep', t: 1_767_225_600_000_000, state: 'write' };
    expect(formatFlyReplaySrc(src)).toBe('instance=0123456789abcd;region=rep;t=1767225600000000;state=write');
    expect(parseFlyReplaySrc(formatFlyReplaySrc(src))).toEqual(src);
    expect(parseFlyReplaySrc('instance=0123456789abcd;region=rep;t=1767225600000000')).toEqual({ instance: '0123456789abcd', region: 'rep', t: 1_767_225_600_000_000 });
    for (const bad of ['state=x', 'instance=a;region=b', 'instance=a;region=b;t=soon']) expect(parseFlyReplaySrc(bad)).toBeUndefined();
  });

  it.each([
    [0, true, true, undefined],
    [10, true, true, undefined],
    [10.001, true, true, 'lag_over_max'],
    [undefined, true, true, 'lag_unknown'],
    [0, false, true, 'not_caught_up'],
    [0, true, false, 'feed_not_ready'],
  ] as const)('a replica %s s behind, caught up %s, feed ready %s: %s', (lag, caught, ready, reason) => {
    expect(staleness(new FakeReplicaStatus(lag, caught), 10, ready)).toBe(reason);
  });

  it('treats a replica without a follower as never caught up', () => {
    expect(staleness(undefined, 10, true)).toBe('not_caught_up');
  });

  it('reads MAX_REPLICA_LAG in seconds, 10 by default', () => {
    expect(configFromEnv({}).maxReplicaLagSeconds).toBe(10);
    expect(configFromEnv({ MAX_REPLICA_LAG: '2.5' }).maxReplicaLagSeconds).toBe(2.5);
    for (const bad of ['0', 'soon', '-3']) {
      expect(() => configFromEnv({ MAX_REPLICA_LAG: bad })).toThrow(ConfigError);
    }
  });
});

/** What the echo instances saw: they answer it as JSON. */
interface Echo {
  region: string;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('the Fly edge stand-in', () => {
  const servers: Server[] = [];
  let edge: FlyEdge;

  /**
   * An instance that echoes the request, or answers with the `fly-replay` named by the
   * request's `x-answer-replay` header while it has no fly-replay-src (`always`: every time).
   */
  async function echoInstance(region: string, always = false): Promise<string> {
    const server = createServer(async (req, res) => {
      const replay = req.headers['x-answer-replay'];
      if (typeof replay === 'string' && (always || req.headers['fly-replay-src'] === undefined)) {
        res.writeHead(409, { 'fly-replay': replay }).end();
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const echo: Echo = { region, method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() };
      res.writeHead(200, { 'content-type': 'application/json', 'x-instance': region }).end(JSON.stringify(echo));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    edge = await startFlyEdge({ regions: { a: await echoInstance('a'), b: await echoInstance('b'), loop: await echoInstance('loop', true) } });
  });
  afterAll(async () => {
    await edge?.close();
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
  });

  const send = (path: string, init: RequestInit = {}) => fetch(`${edge.url}${path}`, init);

  it('forwards the whole request to the default region, with the headers Fly adds', async () => {
    const before = edge.stats();
    const res = await send('/some/path?x=1&y=2', { method: 'PUT', headers: { 'content-type': 'text/plain', 'x-custom': 'kept' }, body: 'hello' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-instance')).toBe('a');
    const echo = (await res.json()) as Echo;
    expect(echo).toMatchObject({ region: 'a', method: 'PUT', url: '/some/path?x=1&y=2', body: 'hello' });
    expect(echo.headers).toMatchObject({ 'x-custom': 'kept', 'content-type': 'text/plain', 'fly-client-ip': '127.0.0.1', 'fly-region': 'a', 'x-forwarded-for': '127.0.0.1' });
    expect(echo.headers['fly-replay-src']).toBeUndefined();
    expect(edge.stats()).toMatchObject({ requests: before.requests + 1, forwards: before.forwards + 1, replays: before.replays });
  });

  it('goes to the first known region of fly-prefer-region, else the default one', async () => {
    const region = async (prefer: string) => ((await (await send('/', { headers: { 'fly-prefer-region': prefer } })).json()) as Echo).region;
    expect(await region('b')).toBe('b');
    expect(await region('nrt, b')).toBe('b');
    expect(await region('nrt')).toBe('a');
  });

  it('replays the same request once to the region fly-replay names, with fly-replay-src', async () => {
    const before = edge.stats();
    const body = JSON.stringify({ n: 'x'.repeat(100_000) });
    const startUs = Date.now() * 1000;
    const res = await send('/write?q=1', { method: 'POST', headers: { 'x-answer-replay': 'region=b;state=write', 'content-type': 'application/json' }, body });
    const endUs = Date.now() * 1000;
    expect(res.status).toBe(200);
    expect(res.headers.get('fly-replay')).toBeNull();
    const echo = (await res.json()) as Echo;
    expect(echo).toMatchObject({ region: 'b', method: 'POST', url: '/write?q=1', body });
    expect(echo.headers['content-type']).toBe('application/json');
    const src = parseFlyReplaySrc(String(echo.headers['fly-replay-src']));
    expect(src).toMatchObject({ instance: edge.instanceId('a'), region: 'a', state: 'write' });
    expect(src!.t).toBeGreaterThanOrEqual(startUs);
    expect(src!.t).toBeLessThanOrEqual(endUs);
    const after = edge.stats();
    expect(after.forwards - before.forwards).toBe(1);
    expect(after.replays - before.replays).toBe(1);
    expect((after.deliveries.b ?? 0) - (before.deliveries.b ?? 0)).toBe(1);
  });

  it('follows a quoted list of regions, and an instance id', async () => {
    const region = async (replay: string) => ((await (await send('/', { headers: { 'x-answer-replay': replay } })).json()) as Echo).region;
    expect(await region('region="nrt,b"')).toBe('b');
    expect(await region(`instance=${edge.instanceId('b')}`)).toBe('b');
    expect(await region('region="nrt,any"')).toBe('a');
  });

  it('replays at most once: a replayed request answered with fly-replay again is an error', async () => {
    const before = edge.stats();
    const res = await send('/', { headers: { 'fly-prefer-region': 'loop', 'x-answer-replay': 'region=loop' } });
    expect(res.status).toBe(502);
    expect(await res.text()).toContain('PA02');
    const after = edge.stats();
    expect(after.replays - before.replays).toBe(1);
    expect((after.deliveries.loop ?? 0) - (before.deliveries.loop ?? 0)).toBe(2);
  });

  it.each([
    ['region=nrt', 'PR01'],
    ['region', 'PA03'],
    ['app=another-app', 'PA04'],
  ])('answers fly-replay %j with Fly error %s', async (replay, code) => {
    const res = await send('/', { headers: { 'x-answer-replay': replay } });
    expect(res.status).toBe(502);
    expect(await res.text()).toContain(code);
  });

  it('does not replay a body over 1 MB (PA01)', async () => {
    const res = await send('/', { method: 'POST', headers: { 'x-answer-replay': 'region=b' }, body: 'x'.repeat(1024 * 1024 + 1) });
    expect(res.status).toBe(502);
    expect(await res.text()).toContain('PA01');
  });
});

describe('a primary and a replica behind the edge', () => {
  let jetstream: JetstreamReplayServer;
  let plc: PlcDirectory;
  let primary: Awaited<ReturnType<typeof startTestService>>;
  let primaryDb: Database;
  let replica: HttpApp;
  let edge: FlyEdge;
  const status = new FakeReplicaStatus(1, true);
  const replicaFeed = markedFeed('served-by-replica');
  /** Interactions the replica was asked to store: there must never be any. */
  let replicaWrites = 0;
  const apps: HttpApp[] = [];

  const common = () => ({ FEEDGEN_HOSTNAME: FEED_HOSTNAME, FEEDGEN_PUBLISHER_DID: PUBLISHER_DID, PLC_URL: plc.url });
  const replicaEnv = () => ({ ...common(), ROLE: 'replica', FLY_REGION: 'rep', PRIMARY_REGION: 'pri', MAX_REPLICA_LAG: '10' });
  const storedFor = (did: string) =>
    primaryDb.prepare<[string], { n: number }>('SELECT count(*) AS n FROM interactions i JOIN actors a ON a.id = i.actor_id WHERE a.did = ?').get(did)!.n;

  async function sendInteractions(url: string, user: SignedUser, body: string, headers: Record<string, string> = {}) {
    return fetch(`${url}/xrpc/${SEND}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: await user.bearer(SEND), ...headers },
      body,
    });
  }
  const interactions = (n: number) => JSON.stringify({ interactions: Array.from({ length: n }, () => ({ item: SOME_POST, event: SEEN })) });
  const servedBy = async (res: Response) => {
    expect(res.status).toBe(200);
    return ((await res.json()) as { reqId: string }).reqId === 'served-by-replica' ? 'replica' : 'primary';
  };
  async function app(env: Record<string, string>, deps: Parameters<typeof startHttpApp>[1] = {}) {
    const started = await startHttpApp(env, deps);
    apps.push(started);
    return started;
  }

  beforeAll(async () => {
    jetstream = await startJetstreamReplay({ lines: jsonlLines(CAPTURE_FILE) });
    plc = await startPlcDirectory();
    primary = await startTestService(
      testConfig({ ...common(), JETSTREAM_URL: `${jetstream.url}/subscribe`, GRAPH_POLL_MS: '50', FLY_REGION: 'pri', PRIMARY_REGION: 'pri' }),
    );
    primaryDb = openReader(primary.service.ctx.config.dbPath, { busyTimeoutMs: 1000 });
    await waitFor(async () => ((await (await fetch(`${primary.baseUrl}/xrpc/_health`)).json()) as { ready: boolean }).ready || undefined, 20_000, 'primary ready');
    replica = await app(replicaEnv(), {
      feed: replicaFeed,
      replica: status,
      recordInteractions: async () => {
        replicaWrites++;
        return 0;
      },
    });
    edge = await startFlyEdge({ regions: { rep: replica.url, pri: primary.baseUrl }, defaultRegion: 'rep' });
  });
  afterAll(async () => {
    await edge?.close();
    for (const started of apps) await started.close();
    primaryDb?.close();
    await primary?.stop();
    await plc?.close();
    await jetstream?.close();
  });
  beforeEach(() => {
    status.lag = 1;
    status.caught = true;
    status.primaryServes = true;
    replicaFeed.ready = true;
  });

  describe('writes', () => {
    it('sendInteractions sent to the replica is stored once, by the primary', async () => {
      const user = await registerUser(plc);
      const before = edge.stats();
      const res = await sendInteractions(edge.url, user, interactions(3));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({});
      expect(storedFor(user.did)).toBe(3);
      const after = edge.stats();
      expect(after.replays - before.replays).toBe(1);
      expect((after.deliveries.rep ?? 0) - (before.deliveries.rep ?? 0)).toBe(1);
      expect((after.deliveries.pri ?? 0) - (before.deliveries.pri ?? 0)).toBe(1);
      expect(replicaWrites).toBe(0);
      // Only the primary checked the JWT: the replica never resolved the user's key.
      expect(plc.requests(user.did)).toBe(1);
      expect(await replica.metric('feedgen_fly_replays_total', { reason: 'write' })).toBeGreaterThanOrEqual(1);
    });

    it('the replica answers with fly-replay before the body has arrived', async () => {
      const answer = await new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const req = request(`${replica.url}/xrpc/${SEND}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '1000000' } });
        req.on('error', reject);
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() });
            req.destroy();
          });
        });
        req.write('{"interactions": ['); // and never the rest
      });
      expect(answer.status).toBe(409);
      expect(answer.headers['fly-replay']).toBe('region=pri;state=write');
      expect(answer.body).toBe('');
    });

    it.each([
      ['a body over the limit', 'x'.repeat(600 * 1024), 413, 'PayloadTooLarge'],
      ['a body that is not JSON', '{"interactions": [', 400, 'InvalidRequest'],
    ])('%s is replayed unread, and refused by the primary', async (_what, body, status, error) => {
      const user = await registerUser(plc);
      const before = edge.stats();
      const res = await sendInteractions(edge.url, user, body);
      expect(res.status).toBe(status);
      expect(await res.json()).toMatchObject({ error });
      expect(edge.stats().replays - before.replays).toBe(1);
      expect(storedFor(user.did)).toBe(0);
    });

    it('replays any other method and path too', async () => {
      const res = await fetch(`${replica.url}/admin/anything`, { method: 'DELETE' });
      expect(res.status).toBe(409);
      expect(res.headers.get('fly-replay')).toBe('region=pri;state=write');
    });

    it('a replayed write that lands on a replica is refused, never replayed again', async () => {
      const user = await registerUser(plc);
      const res = await sendInteractions(replica.url, user, interactions(1), { 'fly-replay-src': 'instance=0123456789abcd;region=xyz;t=1' });
      expect(res.status).toBe(503);
      expect(res.headers.get('fly-replay')).toBeNull();
      expect(await res.json()).toMatchObject({ error: 'NotPrimary', message: expect.stringContaining('read replica') });
    });

    it('a primary region that holds only a replica ends in an error after one replay', async () => {
      const misplaced = await app({ ...replicaEnv(), FLY_REGION: 'pri' }, { feed: markedFeed('misplaced'), replica: status });
      const misrouted = await startFlyEdge({ regions: { rep: replica.url, pri: misplaced.url } });
      try {
        const res = await sendInteractions(misrouted.url, await registerUser(plc), interactions(1));
        expect(res.status).toBe(503);
        expect(await res.json()).toMatchObject({ error: 'NotPrimary' });
        expect(misrouted.stats()).toMatchObject({ forwards: 1, replays: 1, errors: {} });
      } finally {
        await misrouted.close();
      }
    });

    it('without a primary region, a replica refuses writes with a clear 503', async () => {
      const alone = await app({ ...common(), ROLE: 'replica' }, { feed: markedFeed('alone'), replica: status });
      const res = await sendInteractions(alone.url, await registerUser(plc), interactions(1));
      expect(res.status).toBe(503);
      expect(res.headers.get('fly-replay')).toBeNull();
      expect(await res.json()).toMatchObject({ error: 'NoPrimaryRegion', message: expect.stringContaining('PRIMARY_REGION') });
    });
  });

  describe('reads', () => {
    it('a fresh replica serves getFeedSkeleton itself', async () => {
      for (const lag of [0, 9.9, 10]) {
        status.lag = lag;
        const before = edge.stats();
        expect(await servedBy(await fetch(`${edge.url}${SKELETON}`))).toBe('replica');
        expect(edge.stats().replays).toBe(before.replays);
      }
    });

    it.each([
      ['behind by more than MAX_REPLICA_LAG', () => void (status.lag = 10.5), 'lag_over_max'],
      ['without a heartbeat yet', () => void (status.lag = undefined), 'lag_unknown'],
      ['never caught up', () => void (status.caught = false), 'not_caught_up'],
      ['with its feed still loading', () => void (replicaFeed.ready = false), 'feed_not_ready'],
    ])('a replica %s hands getFeedSkeleton to the primary', async (_what, makeStale, reason) => {
      makeStale();
      const before = edge.stats();
      const replays = await replica.metric('feedgen_fly_replays_total', { reason });
      expect(await servedBy(await fetch(`${edge.url}${SKELETON}`))).toBe('primary');
      expect(edge.stats().replays - before.replays).toBe(1);
      expect(await replica.metric('feedgen_fly_replays_total', { reason })).toBe(replays + 1);
    });

    it('a stale replica serves a read that was already replayed to it, counted', async () => {
      status.lag = 60;
      const stale = await replica.metric('feedgen_replica_stale_reads_total', { reason: 'lag_over_max' });
      const res = await fetch(`${replica.url}${SKELETON}`, { headers: { 'fly-replay-src': 'instance=0123456789abcd;region=pri;t=1' } });
      expect(res.headers.get('fly-replay')).toBeNull();
      expect(await servedBy(res)).toBe('replica');
      expect(await replica.metric('feedgen_replica_stale_reads_total', { reason: 'lag_over_max' })).toBe(stale + 1);
    });

    it('a replica behind a primary that says it is not serving (stopped, or loading) serves its copy, counted', async () => {
      status.lag = 60;
      status.primaryServes = false;
      const before = edge.stats();
      const stale = await replica.metric('feedgen_replica_stale_reads_total', { reason: 'lag_over_max' });
      expect(await servedBy(await fetch(`${edge.url}${SKELETON}`))).toBe('replica');
      expect(edge.stats().replays).toBe(before.replays);
      expect(await replica.metric('feedgen_replica_stale_reads_total', { reason: 'lag_over_max' })).toBe(stale + 1);
      // A copy that has no copy of its own to serve still hands the read over.
      status.caught = false;
      expect(await servedBy(await fetch(`${edge.url}${SKELETON}`))).toBe('primary');
    });

    it('a replayed read to a replica whose feed is not loaded gets 503 NotReady, not a replay', async () => {
      replicaFeed.ready = false;
      const res = await fetch(`${replica.url}${SKELETON}`, { headers: { 'fly-replay-src': 'instance=0123456789abcd;region=pri;t=1' } });
      expect(res.status).toBe(503);
      expect(res.headers.get('fly-replay')).toBeNull();
      expect(await res.json()).toMatchObject({ error: 'NotReady' });
    });

    it('without a primary region, a stale replica serves what it has', async () => {
      const alone = await app({ ...common(), ROLE: 'replica' }, { feed: markedFeed('served-by-replica'), replica: new FakeReplicaStatus(undefined, false) });
      expect(await servedBy(await fetch(`${alone.url}${SKELETON}`))).toBe('replica');
      expect(await alone.metric('feedgen_replica_stale_reads_total', { reason: 'not_caught_up' })).toBe(1);
    });
  });

  describe('the primary', () => {
    it('serves a replayed request like any other', async () => {
      const user = await registerUser(plc);
      const res = await sendInteractions(primary.baseUrl, user, interactions(2), { 'fly-replay-src': `instance=${edge.instanceId('rep')};region=rep;t=1;state=write` });
      expect(res.status).toBe(200);
      expect(storedFor(user.did)).toBe(2);
      expect(await servedBy(await fetch(`${primary.baseUrl}${SKELETON}`, { headers: { 'fly-replay-src': 'instance=x;region=rep;t=1' } }))).toBe('primary');
    });

    it('answers what it cannot store with a 503, never a replay', async () => {
      const failing = await app(common(), {
        recordInteractions: async () => {
          throw new WriteFailedError('database or disk is full', 'SQLITE_FULL');
        },
      });
      const writerless = await app(common());
      for (const [target, error] of [[failing, 'WriteUnavailable'], [writerless, 'NotPrimary']] as const) {
        const res = await sendInteractions(target.url, await registerUser(plc), interactions(1), { 'fly-replay-src': 'instance=x;region=rep;t=1' });
        expect(res.status).toBe(503);
        expect(res.headers.get('fly-replay')).toBeNull();
        expect(await res.json()).toMatchObject({ error });
      }
    });
  });

  describe('health', () => {
    const health = async (url: string) => (await fetch(`${url}/xrpc/_health`)).json();

    it('shows the replica lag, and readiness only once caught up', async () => {
      status.lag = undefined;
      status.caught = false;
      expect(await health(replica.url)).toEqual({ version: VERSION, role: 'replica', region: 'rep', ready: false, lag_seconds: null, ingest_lag_seconds: null, ingest_paused: null, last_restore: null });
      status.lag = 2.5;
      expect(await health(replica.url)).toMatchObject({ ready: false, lag_seconds: 2.5 });
      status.caught = true;
      expect(await health(replica.url)).toMatchObject({ ready: true, lag_seconds: 2.5 });
      replicaFeed.ready = false;
      expect(await health(replica.url)).toMatchObject({ ready: false });
      // A copy restored past a damaged segment says so, and how long ago.
      status.restore = { reason: 'restored_past_damage', atMs: Date.now() - 30_000 };
      expect(await health(replica.url)).toMatchObject({ last_restore: { reason: 'restored_past_damage', seconds_ago: 30 } });
      status.restore = undefined;
    });

    it('shows the primary at lag 0', async () => {
      expect(await health(primary.baseUrl)).toMatchObject({ role: 'primary', region: 'pri', ready: true, lag_seconds: 0 });
    });
  });
});
