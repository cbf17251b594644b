/**
 * The multi-region set-up on one machine, offline:
 *
 *   npm run demo [-- --port 8080] [--keep] [--likes 200000] [--rate 2000] [--once]
 *
 * A local S3 server, a Jetstream replay of a generated like stream, the PLC stand-in with
 * a few of the stream's active likers signed in (and a user with no likes who follows them),
 * the AppView stand-in answering who they follow, a primary in "ams" (launcher → Litestream
 * → service) and replicas in "sin" and "gru" following the bucket, all behind the Fly
 * edge stand-in on --port; the machines listen on the next three ports. Everything lives
 * under data/demo/ (wiped at start unless --keep); the machines log to data/demo/logs/.
 * Ctrl-C stops the machines (SIGTERM, then their final sync) and the stand-ins. With --once
 * the demo stops by itself after its first feed answer through the edge (a smoke test).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { metricSamples } from '../testkit/metrics/prometheus.js';
import { freePort, REPO_ROOT } from '../testkit/processes/processes.js';
import { describeHealth, healthOf } from '../testkit/processes/health.js';
import { instructions } from './demo/instructions.js';
import { type DemoNode, isRunning, killNode, startDemoNode, stopNodes } from './demo/nodes.js';
import { writeDemoStream } from '../testkit/dataset/demo-stream.js';
import { COLD_USER_DID, demoFollows } from './demo/follows.js';
import { type DemoUser, registerDemoUser } from './demo/users.js';
import { type StandInAppView, startAppView } from '../testkit/standins/appview.js';
import { type FlyEdge, startFlyEdge } from '../testkit/standins/fly-edge.js';
import { type JetstreamReplayServer, startJetstreamReplay } from '../testkit/standins/jetstream-server.js';
import { type PlcDirectory, startPlcDirectory } from '../testkit/standins/plc-directory.js';
import { type S3Server, startS3Server } from '../testkit/standins/s3-server.js';

const USAGE = 'usage: npm run demo -- [--port 8080] [--keep] [--likes 200000] [--rate 2000] [--once]';
const DEMO_DIR = path.join(REPO_ROOT, 'data', 'demo');
const PRIMARY_REGION = 'ams';
const REPLICA_REGIONS = ['sin', 'gru'];
const HOSTNAME = 'localhost';
const SERVICE_DID = `did:web:${HOSTNAME}`;
const PUBLISHER_DID = 'did:plc:demofeedpublisher2345abc';
const FEED_URI = `at://${PUBLISHER_DID}/app.bsky.feed.generator/for-you`;
const SEED = 42;
/**
 * The stream covers one day: the ranker looks for candidates in the last 48 hours
 * (candidateWindowHours), so a longer window would leave personal feeds empty until the
 * replay reaches its last two days.
 */
const STREAM_DAYS = 1;
/** Users are drawn from the likers of the stream's first half minute: what is ingested by the time the demo is up. */
const EARLY_STREAM_S = 30;
const USERS = 3;
const READY_TIMEOUT_MS = 180_000;
/** How long to wait for one of the users to have a personal feed (their first likes arrive with the stream). */
const PERSONAL_FEED_TIMEOUT_MS = 60_000;
/** The launcher gives Litestream 30 s after SIGTERM; past this the demo kills what is left. */
const STOP_GRACE_MS = 45_000;

interface Args {
  port: number;
  keep: boolean;
  likes: number;
  rate: number;
  /** Stop after the first feed answer through the edge. */
  once: boolean;
}

/** What is running, for the stop. */
interface Running {
  s3?: S3Server;
  replay?: JetstreamReplayServer;
  plc?: PlcDirectory;
  appview?: StandInAppView;
  edge?: FlyEdge;
  nodes: DemoNode[];
  watch?: NodeJS.Timeout;
  stopped?: Promise<void>;
}

const running: Running = { nodes: [] };

async function main(): Promise<void> {
  const args = parseCli(process.argv.slice(2));
  const started = Date.now();
  const ports = { primary: args.port + 1, replicas: REPLICA_REGIONS.map((_, i) => args.port + 2 + i) };
  for (const port of [args.port, ports.primary, ...ports.replicas]) {
    if (!(await portIsFree(port))) throw new Error(`port ${port} is in use: --port picks the edge's port, the machines take the next three`);
  }
  onSignals();

  // 1. A clean folder, or the last run's with --keep (the bucket and every copy resume).
  if (!args.keep) rmSync(DEMO_DIR, { recursive: true, force: true });
  const logs = path.join(DEMO_DIR, 'logs');
  mkdirSync(logs, { recursive: true });

  // 2. The like stream, written to a file; the most active likers of its first half minute sign in.
  const streamFile = path.join(DEMO_DIR, 'stream.jsonl');
  console.log(`generating ${args.likes.toLocaleString('en')} likes into ${path.relative(REPO_ROOT, streamFile)} ...`);
  const { stats, activeLikers } = writeDemoStream(streamFile, { seed: SEED, likes: args.likes, days: STREAM_DAYS, earlyLines: args.rate * EARLY_STREAM_S, users: USERS });
  const minutes = stats.lines / args.rate / 60;
  console.log(`  ${stats.lines.toLocaleString('en')} events, replayed at ${args.rate.toLocaleString('en')}/s: about ${minutes.toFixed(1)} min of live ingest, then the stream idles`);

  // 3. The stand-ins: S3 (objects under data/demo/s3), the Jetstream replay, the PLC directory,
  // the AppView (who each user follows: the authors they liked; the cold user, the others).
  running.s3 = await startS3Server({ directory: path.join(DEMO_DIR, 's3') });
  running.replay = await startJetstreamReplay({ file: streamFile, ratePerSec: args.rate });
  const plc = (running.plc = await startPlcDirectory());
  const users: DemoUser[] = await Promise.all(activeLikers.map((did) => registerDemoUser(plc, did, SERVICE_DID)));
  const coldUser = await registerDemoUser(plc, COLD_USER_DID, SERVICE_DID);
  running.appview = await startAppView(await demoFollows(streamFile, activeLikers));

  // 4. One launcher per region, each on its own port and folder; the edge in front of them.
  const common = {
    ...running.s3.env(),
    PRIMARY_REGION,
    PLC_URL: plc.url,
    FOLLOWS_APPVIEW_URL: running.appview.url,
    FEEDGEN_HOSTNAME: HOSTNAME,
    FEEDGEN_PUBLISHER_DID: PUBLISHER_DID,
  };
  const node = (region: string, role: DemoNode['role'], port: number, env: Record<string, string>) => {
    const logFile = path.join(logs, `${region}.log`);
    return startDemoNode({ region, role, port, logFile, env: { ...common, FLY_REGION: region, ROLE: role, DATA_DIR: path.join(DEMO_DIR, region), ...env } });
  };
  running.nodes.push(
    node(PRIMARY_REGION, 'primary', ports.primary, {
      JETSTREAM_URL: `${running.replay.url}/subscribe`,
      LITESTREAM_METRICS_ADDR: `127.0.0.1:${await freePort()}`,
    }),
    ...REPLICA_REGIONS.map((region, i) => node(region, 'replica', ports.replicas[i]!, { LITESTREAM_METRICS_ADDR: 'off' })),
  );
  const regions = Object.fromEntries(running.nodes.map((n) => [n.region, n.url]));
  running.edge = await startFlyEdge({ regions, defaultRegion: PRIMARY_REGION, port: args.port });

  // 5. Every machine ready: the primary's graph loaded, each replica caught up with the bucket.
  await waitUntilReady(running.nodes, READY_TIMEOUT_MS);
  console.log(`all ${running.nodes.length} machines ready after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

  // 6. What to try, for a user whose feed is personal already; then the edge's replays as they happen, until Ctrl-C.
  const { user, post } = await personalFeed(running.nodes[0]!.url, users);
  const [readRegion, writeRegion] = REPLICA_REGIONS as [string, string];
  console.log(`\n${await instructions({ edgeUrl: running.edge.url, nodes: running.nodes, feedUri: FEED_URI, user, coldUser, post, readRegion, writeRegion })}`);
  if (args.once) return firstAnswerThenStop(running.edge.url, user, running.nodes[0]!.url, coldUser);
  console.log('\nRunning; Ctrl-C stops everything.');
  watchEdge(running.edge);
  for (const n of running.nodes) {
    void n.exited.then((code) => {
      if (!running.stopped) console.log(`${n.region} exited (code ${code ?? n.child.signalCode}); see ${n.logFile}`);
    });
  }
}

function parseCli(argv: string[]): Args {
  const fail = (message: string): never => {
    console.error(`demo: ${message}\n${USAGE}`);
    process.exit(2);
  };
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { port: { type: 'string' }, keep: { type: 'boolean' }, once: { type: 'boolean' }, likes: { type: 'string' }, rate: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    return fail((err as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const integer = (name: string, text: string | undefined, fallback: number, min: number, max: number) => {
    const value = text === undefined ? fallback : Number(text.replaceAll('_', ''));
    return Number.isSafeInteger(value) && value >= min && value <= max ? value : fail(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  };
  return {
    port: integer('port', values.port, 8080, 1, 65532),
    keep: values.keep ?? false,
    likes: integer('likes', values.likes, 200_000, 1000, 10_000_000),
    rate: integer('rate', values.rate, 2000, 1, 1_000_000),
    once: values.once ?? false,
  };
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Polls every machine's health (and like graph) until all are ready; one redrawn line on a terminal. */
async function waitUntilReady(nodes: DemoNode[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const tty = process.stdout.isTTY;
  let printedAt = 0;
  for (;;) {
    const gone = nodes.find((n) => !isRunning(n));
    if (gone) throw new Error(`${gone.region} exited (code ${gone.child.exitCode}); see ${gone.logFile}`);
    const states = await Promise.all(nodes.map(async (n) => ({ health: await healthOf(n.url), likes: await graphLikes(n.url) })));
    const line = nodes
      .map((n, i) => `${n.region}: ${describeHealth(states[i]!.health)}${states[i]!.likes ? `, ${states[i]!.likes!.toLocaleString('en')} likes` : ''}`)
      .join(' | ');
    const ready = states.every((s) => s.health?.ready);
    if (tty) process.stdout.write(`\r${line}\x1b[K${ready ? '\n' : ''}`);
    else if (ready || Date.now() - printedAt > 5000) {
      console.log(line);
      printedAt = Date.now();
    }
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`not every machine was ready after ${timeoutMs / 1000} s; see the logs in ${path.join(DEMO_DIR, 'logs')}`);
    await sleep(500);
  }
}

/** The like graph's size on a machine (undefined until it answers). */
async function graphLikes(url: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    return metricSamples(text, 'feedgen_graph_likes')[0]?.value;
  } catch {
    return undefined;
  }
}

/**
 * The first user whose feed on the primary has posts, and its top post (for the
 * sendInteractions example); after the timeout, the first user and a post of the popular list.
 */
async function personalFeed(url: string, users: DemoUser[]): Promise<{ user: DemoUser; post: string }> {
  const deadline = Date.now() + PERSONAL_FEED_TIMEOUT_MS;
  console.log('waiting for a personal feed ...');
  for (;;) {
    for (const user of users) {
      const [post] = await feedPage(url, await user.token('app.bsky.feed.getFeedSkeleton'));
      if (post) return { user, post };
    }
    if (Date.now() > deadline) break;
    await sleep(1000);
  }
  console.log(`no personal feed after ${PERSONAL_FEED_TIMEOUT_MS / 1000} s: the users' feeds fill as the stream goes on`);
  const [post] = await feedPage(url, undefined);
  if (!post) throw new Error("the primary's popular list is empty");
  return { user: users[0]!, post };
}

/** The post URIs of a first page of the feed, signed in with `token` or not. */
async function feedPage(url: string, token: string | undefined): Promise<string[]> {
  const res = await fetch(`${url}/xrpc/app.bsky.feed.getFeedSkeleton?${new URLSearchParams({ feed: FEED_URI, limit: '10' })}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const page = (await res.json()) as { feed?: Array<{ post: string }> };
  return page.feed?.map((item) => item.post) ?? [];
}

/** --once: one signed-in feed page through the edge, then the same stop as Ctrl-C. */
async function firstAnswerThenStop(edgeUrl: string, user: DemoUser, primaryUrl: string, coldUser: DemoUser): Promise<void> {
  const page = await feedPage(edgeUrl, await user.token('app.bsky.feed.getFeedSkeleton'));
  if (page.length === 0) throw new Error('the first feed answer through the edge was empty');
  console.log(`first feed answer through the edge: ${page.length} posts, the first ${page[0]}`);
  // The cold user's page on the primary, whose metrics then say whether their follows ranked it.
  const cold = await feedPage(primaryUrl, await coldUser.token('app.bsky.feed.getFeedSkeleton'));
  const fromFollows = metricSamples(await (await fetch(`${primaryUrl}/metrics`)).text(), 'feedgen_feed_rankings_total').some((s) => s.labels.source?.endsWith('+follows') && s.value > 0);
  if (!fromFollows) throw new Error("the cold user's feed was not ranked from their follows");
  console.log(`the cold user's feed, ranked from their follows: ${cold.length} posts`);
  await stopOnce();
  process.exit(0);
}

/** A line whenever the edge replays a request or answers an error of its own. */
function watchEdge(edge: FlyEdge): void {
  let last = edge.stats();
  running.watch = setInterval(() => {
    const now = edge.stats();
    if (now.replays > last.replays) console.log(`edge: a replica answered fly-replay; replayed ${now.replays - last.replays} request(s) on the primary (${now.replays} so far)`);
    for (const [code, count] of Object.entries(now.errors)) {
      if (count > (last.errors[code] ?? 0)) console.log(`edge: answered Fly error ${code} ${count - (last.errors[code] ?? 0)} time(s)`);
    }
    last = now;
  }, 1000);
}

/**
 * Ctrl-C stops the machines (SIGTERM, their final sync), then the stand-ins; another
 * Ctrl-C a second later kills them at once (one keypress can arrive twice, through npm).
 */
function onSignals(): void {
  let firstAt: number | undefined;
  const onSignal = () => {
    if (firstAt !== undefined) {
      if (Date.now() - firstAt < 1000) return;
      console.log('\nkilled');
      running.nodes.forEach(killNode);
      process.exit(1);
    }
    firstAt = Date.now();
    console.log('\nstopping the machines (SIGTERM; the primary makes its final sync) ...');
    stopOnce().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('demo: stop failed:', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Whatever happens to this process, no machine outlives it.
  process.once('exit', () => running.nodes.filter(isRunning).forEach(killNode));
}

/** The one stop, whether a signal or a failure asked for it. */
function stopOnce(): Promise<void> {
  running.stopped ??= stop();
  return running.stopped;
}

async function stop(): Promise<void> {
  clearInterval(running.watch);
  const codes = await stopNodes(running.nodes, STOP_GRACE_MS);
  console.log(running.nodes.map((n, i) => `${n.region} exited ${codes[i] ?? n.child.signalCode}`).join(', '));
  // The bucket last: the primary's final sync needed it.
  await running.edge?.close();
  await running.replay?.close();
  await running.plc?.close();
  await running.appview?.close();
  await running.s3?.close();
  console.log(`stopped; everything is in ${path.relative(REPO_ROOT, DEMO_DIR)} (npm run demo -- --keep resumes from it)`);
}

main().catch(async (err: unknown) => {
  if (running.stopped) return; // a stop under way made start-up fail; it exits when done
  console.error(`\ndemo: ${err instanceof Error ? err.message : String(err)}`);
  await stopOnce().catch(() => {});
  process.exit(1);
});
