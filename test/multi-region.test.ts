/**
 * The multi-region set-up as deployed, on one machine: a primary ("ams": launcher →
 * Litestream → service) and two read replicas ("sin", "gru": each a launcher of its own
 * that follows the bucket), behind the Fly edge stand-in, with the S3 and PLC stand-ins
 * and real service JWTs. The tests run in order on one cluster.
 */
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openReader } from '../src/store/database.js';
import { freePort } from '../testkit/processes/processes.js';
import { healthOf } from '../testkit/processes/health.js';
import { LikerCounter } from '../testkit/dataset/demo-stream.js';
import { type FlyEdge, startFlyEdge } from '../testkit/standins/fly-edge.js';
import type { JetstreamReplayServer } from '../testkit/standins/jetstream-server.js';
import { type PlcDirectory, startPlcDirectory } from '../testkit/standins/plc-directory.js';
import { clusterEnv, type FeedRead, keepReading, maxLikeId, type Node, readFeed, restartNode, startNode, tablesIn, waitReady } from '../testkit/processes/cluster.js';
import { registerUser, type SignedUser } from '../testkit/processes/feed-service.js';
import { likeIds, likeLines, likesIn, primarySuite } from '../testkit/processes/primary.js';
import { metricValue, waitFor } from '../testkit/processes/service.js';

/** MAX_REPLICA_LAG of every node, in seconds: the bound each propagation is held to. */
const MAX_LAG_S = 6;
const LIKES = 12_000;
const EVENTS_PER_S = 1000;
const SEND = 'app.bsky.feed.sendInteractions';
const SEEN = 'app.bsky.feed.defs#interactionSeen';

describe('a primary and two replicas behind the edge', () => {
  const suite = primarySuite();
  let replay: JetstreamReplayServer;
  let plc: PlcDirectory;
  let edge: FlyEdge;
  let primary: Node;
  let sin: Node;
  let gru: Node;
  let gruPort: number;
  /** The dataset's most active likers, signed in with fresh keys. */
  let users: SignedUser[];
  let likeCount: number;

  /** What every node shares: the feed's identity, the PLC stand-in, the regions, quick replica timings. */
  const common = () => ({ ...clusterEnv(plc, MAX_LAG_S), LOG_LEVEL: 'info' });
  const startReplica = (region: string, port?: number) =>
    startNode(region, {
      ...suite.s3().env(),
      LITESTREAM_PATH: primary.env.LITESTREAM_PATH!,
      DATA_DIR: suite.tempDir(),
      ...common(),
      ...(port ? { PORT: String(port) } : {}),
    });

  /** Interactions the primary stored for `did`. */
  const storedFor = (did: string) => {
    const db = openReader(primary.dbPath, { busyTimeoutMs: 5000 });
    try {
      return db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM interactions i JOIN actors a ON a.id = i.actor_id WHERE a.did = ?').get(did)!.n;
    } finally {
      db.close();
    }
  };
  /** `interactionSeen` for each post, through the edge to `region`. */
  const sendSeen = async (region: string, user: SignedUser, posts: string[]) =>
    fetch(`${edge.url}/xrpc/${SEND}`, {
      method: 'POST',
      headers: { 'fly-prefer-region': region, 'content-type': 'application/json', authorization: await user.bearer(SEND) },
      body: JSON.stringify({ interactions: posts.map((item) => ({ item, event: SEEN })) }),
    });
  /** Waits until a replica holds what the primary holds, table by table. */
  const waitSameContent = (node: Node, timeoutMs: number) =>
    waitFor(
      () => {
        const [mine, theirs] = [tablesIn(node.dbPath), tablesIn(primary.dbPath)];
        return mine && theirs && isDeepStrictEqual(mine, theirs) ? true : undefined;
      },
      timeoutMs,
      `${node.region} holding what the primary holds`,
    );
  /** Resolves once the seen post no longer shows in the user's feed on every region given. */
  const waitGoneFrom = (regions: string[], user: SignedUser, post: string) =>
    waitFor(
      async () => {
        for (const region of regions) if ((await readFeed(edge, region, user)).posts.includes(post)) return undefined;
        return true;
      },
      MAX_LAG_S * 1000,
      `${post} gone from ${regions.join(', ')}`,
    );
  /** Feed reads a replica handed to the primary so far (every replay reason but writes). */
  const readReplays = async (node: Node) => {
    const text = await (await fetch(`${node.url}/metrics`)).text();
    return ['not_caught_up', 'lag_unknown', 'lag_over_max', 'feed_not_ready'].reduce((sum, reason) => sum + metricValue(text, 'feedgen_fly_replays_total', { reason }), 0);
  };
  const failures = (reads: FeedRead[]) => reads.filter((read) => read.status !== 200 || read.posts.length === 0);

  beforeAll(async () => {
    const lines = likeLines(LIKES, 31);
    const likers = new LikerCounter();
    lines.forEach((line) => likers.add(line));
    likeCount = likers.total;
    plc = await startPlcDirectory();
    users = await Promise.all(likers.top(3).map((did) => registerUser(plc, did)));
    const stream = await suite.stream(lines, EVENTS_PER_S);
    replay = stream.replay;
    primary = await startNode('ams', { ...stream.env, DATA_DIR: stream.env.DATA_DIR!, ...common() });
    sin = await startReplica('sin'); // before the bucket holds anything: it waits for the first generation
    gruPort = await freePort(); // gru starts later, from nothing
    edge = await startFlyEdge({ regions: { ams: primary.url, sin: sin.url, gru: `http://127.0.0.1:${gruPort}` }, defaultRegion: 'ams' });
    await waitReady(primary, 30_000);
  });
  afterAll(async () => {
    await edge?.close();
    await replay?.close();
    await plc?.close();
  });

  it('a like stored on the primary is in the replica copy within MAX_REPLICA_LAG', async () => {
    await waitReady(sin, 30_000);
    // While the stream runs: when each newest like id first shows in the primary's file, then in the replica's.
    const onPrimary: Array<[number, number]> = [];
    const onReplica: Array<[number, number]> = [];
    const until = Date.now() + 6000;
    while (Date.now() < until) {
      const now = Date.now();
      for (const [samples, dbPath] of [[onPrimary, primary.dbPath], [onReplica, sin.dbPath]] as const) {
        const id = maxLikeId(dbPath);
        if (id !== undefined && id > (samples.at(-1)?.[1] ?? 0)) samples.push([now, id]);
      }
      await sleep(50);
    }
    const lagsMs = onPrimary.flatMap(([at, id]) => {
      const arrived = onReplica.find(([, got]) => got >= id);
      return arrived ? [arrived[0] - at] : [];
    });
    lagsMs.sort((a, b) => a - b);
    console.log(`primary → sin: ${lagsMs.length} like ids timed, p50 ${lagsMs[lagsMs.length >> 1]} ms, max ${lagsMs.at(-1)} ms`);
    expect(lagsMs.length).toBeGreaterThan(20);
    expect(lagsMs.at(-1)!).toBeLessThan(MAX_LAG_S * 1000);
  });

  it('the replica ends with what the primary holds, its like graph follows, and it serves the same feed', async () => {
    await waitFor(() => (likeIds(primary.dbPath).length === likeCount ? true : undefined), 60_000, 'the whole stream stored');
    const storedAt = Date.now();
    await waitSameContent(sin, MAX_LAG_S * 1000);
    const live = likesIn(primary.dbPath).length;
    await waitFor(
      async () => (metricValue(await (await fetch(`${sin.url}/metrics`)).text(), 'feedgen_graph_likes') === live ? true : undefined),
      MAX_LAG_S * 1000,
      "every live like in the replica's like graph",
    );
    console.log(`last like → sin like graph: ${Date.now() - storedAt} ms`);
    const fromReplica = await readFeed(edge, 'sin', users[0]!);
    expect(fromReplica).toMatchObject({ status: 200, replayed: false });
    expect(fromReplica.posts.length).toBeGreaterThan(0);
    expect(fromReplica.posts).toEqual((await readFeed(edge, 'ams', users[0]!)).posts);
  });

  it('sendInteractions sent to a replica is stored once, by the primary, and reaches the replica feed', async () => {
    const user = users[1]!;
    const top = (await readFeed(edge, 'sin', user)).posts[0]!;
    const before = edge.stats();
    const res = await sendSeen('sin', user, [top]);
    const sentAt = Date.now();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
    const after = edge.stats();
    expect(after.replays - before.replays).toBe(1);
    expect((after.deliveries.sin ?? 0) - (before.deliveries.sin ?? 0)).toBe(1);
    expect((after.deliveries.ams ?? 0) - (before.deliveries.ams ?? 0)).toBe(1);
    expect(storedFor(user.did)).toBe(1);
    expect(metricValue(await (await fetch(`${sin.url}/metrics`)).text(), 'feedgen_fly_replays_total', { reason: 'write' })).toBe(1);
    await waitGoneFrom(['sin'], user, top);
    console.log(`interaction sent through sin → gone from the sin feed: ${Date.now() - sentAt} ms`);
  });

  it('a replica started from nothing catches up and serves', async () => {
    const started = Date.now();
    gru = await startReplica('gru', gruPort);
    await waitReady(gru, 30_000);
    console.log(`gru from nothing to ready: ${Date.now() - started} ms`);
    await waitSameContent(gru, MAX_LAG_S * 1000);
    const read = await readFeed(edge, 'gru', users[0]!);
    expect(read).toMatchObject({ status: 200, replayed: false });
    expect(read.posts).toEqual((await readFeed(edge, 'ams', users[0]!)).posts);
  });

  it('a primary restart onto a fresh volume is followed by the replicas without a failed read', async () => {
    const reading = keepReading(edge, ['sin', 'gru'], users, 100);
    let peakLag = 0;
    const watching = setInterval(() => {
      for (const node of [sin, gru]) void healthOf(node.url).then((h) => (peakLag = Math.max(peakLag, h?.lag_seconds ?? 0)));
    }, 100);
    try {
      await sleep(500);
      primary.process.child.kill('SIGTERM');
      expect(await primary.process.exited).toBe(0);
      const stoppedAt = Date.now();
      rmSync(primary.env.DATA_DIR!, { recursive: true, force: true }); // the volume is lost
      primary = restartNode(primary); // restores from the bucket, then starts a new generation
      await waitReady(primary, 30_000);
      const upAt = Date.now();
      for (const node of [sin, gru]) {
        await waitFor(() => (node.process.output().includes('follower: new generation') ? true : undefined), 20_000, `${node.region} on the new generation`);
      }
      console.log(`primary down ${upAt - stoppedAt} ms; replicas on the new generation ${Date.now() - upAt} ms later`);
    } finally {
      clearInterval(watching);
    }
    const reads = await reading.stop();
    console.log(`${reads.length} reads during the restart, ${reads.filter((r) => r.replayed).length} replayed; replica lag peaked at ${peakLag} s`);
    expect(failures(reads)).toEqual([]);

    // A write after the restart reaches both replicas: they follow the new generation.
    const user = users[2]!;
    const top = (await readFeed(edge, 'ams', user)).posts[0]!;
    expect((await sendSeen('gru', user, [top])).status).toBe(200);
    await waitGoneFrom(['sin', 'gru'], user, top);
    await waitSameContent(sin, MAX_LAG_S * 1000);
    await waitSameContent(gru, MAX_LAG_S * 1000);
  });

  it('a SIGKILLed replica loses nothing: the others are unaffected, and it resumes to what the primary holds', async () => {
    const gruReplays = await readReplays(gru);
    const reading = keepReading(edge, ['gru'], users, 100);
    sin.process.killAll();
    await sin.process.exited;
    // Written while sin is down, through gru.
    const user = users[0]!;
    const posts = (await readFeed(edge, 'gru', user)).posts.slice(0, 3);
    const before = storedFor(user.did);
    expect((await sendSeen('gru', user, posts)).status).toBe(200);
    expect(storedFor(user.did)).toBe(before + posts.length);
    await waitSameContent(gru, MAX_LAG_S * 1000);

    sin = restartNode(sin);
    await waitReady(sin, 30_000);
    expect(sin.process.output()).toContain('follower: resuming');
    await waitSameContent(sin, MAX_LAG_S * 1000);
    const reads = await reading.stop();
    expect(failures(reads)).toEqual([]);
    expect(await readReplays(gru)).toBe(gruReplays); // gru served every read from its copy
    expect(await healthOf(primary.url)).toMatchObject({ role: 'primary', ready: true });
  });

  it('while the primary is down longer than MAX_REPLICA_LAG, caught-up replicas keep serving their copies', async () => {
    for (const node of [sin, gru]) {
      await waitFor(async () => ((await healthOf(node.url))?.ready ? true : undefined), 30_000, `${node.region} ready`);
    }
    const reading = keepReading(edge, ['sin', 'gru'], users, 100);
    primary.process.child.kill('SIGTERM');
    expect(await primary.process.exited).toBe(0);
    await sleep((MAX_LAG_S + 2) * 1000);
    primary = restartNode(primary);
    await waitReady(primary, 30_000);
    for (const node of [sin, gru]) {
      await waitFor(async () => ((await healthOf(node.url))?.lag_seconds ?? Infinity) < MAX_LAG_S || undefined, 20_000, `${node.region} fresh again`);
    }
    const reads = await reading.stop();
    console.log(`${reads.length} reads while the primary was down, ${reads.filter((r) => r.replayed).length} replayed`);
    expect(failures(reads)).toEqual([]);
    // The primary stopped cleanly and its copy says so, then says loading until its graph
    // is up: a replica never hands it a read it would fail (503 while loading).
    expect(reads.filter((read) => read.replayed)).toEqual([]);
  });
});
