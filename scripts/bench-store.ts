/**
 * Store benchmark: database bytes per like, WAL bytes per event, insert rate and the
 * like graph's load time, for the schema and writer as of git HEAD and for this tree,
 * built side by side in one run from the same generated stream by the real EventWriter.
 *
 *   npm run bench:store [-- --likes 3000000 --seed 42 --live-share 0.1 --page-sizes 2048,4096]
 *
 * --page-sizes adds builds of this tree on files made with those page sizes, to weigh
 * the WAL (smaller pages, fewer bytes a touched page) against reads (more pages a scan);
 * --no-head leaves HEAD out (the first two columns are then this tree's).
 *
 * Each build writes most of the stream in batches of INGEST_BATCH_SIZE (a backlog, as
 * after a restart), then the rest in batches the size the service's time bound makes at
 * the firehose rate (events/s × INGEST_BATCH_WAIT_MS), so both WAL figures are measured
 * on a database of realistic size. wal_autocheckpoint is 0 as under Litestream; a
 * checkpoint every CHECKPOINT_EVERY_EVENTS stands in for Litestream's, and the WAL
 * file's size just before each (TRUNCATE) checkpoint is what the interval wrote.
 * Once every build is made, the real GraphSync loads each finished file read-only (as a
 * replica or a restart does, with the file in the OS cache), and a bare scan of the
 * likes in id order, the query the load is made of, is timed on its own: in rounds over
 * the builds, each figure the best of its rounds, so other work on the machine weighs
 * on every build alike.
 * Prints a table and ends with one JSON line.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, createReadStream, mkdirSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { ensureDataset } from './bench/ingest-phase.js';
import { round } from './bench/figure-cells.js';
import { REPO_ROOT } from '../testkit/processes/processes.js';
import type { IngestEvent } from '../src/ingest/events.js';
import { parseFrame } from '../src/ingest/parse.js';
import { createLogger, type Logger } from '../src/observability/logger.js';

const { values } = parseArgs({
  options: {
    likes: { type: 'string', default: '3000000' },
    seed: { type: 'string', default: '42' },
    'live-share': { type: 'string', default: '0.1' },
    'bulk-batch': { type: 'string', default: '10000' },
    'events-per-s': { type: 'string', default: '480' },
    'batch-wait-ms': { type: 'string', default: '200' },
    'page-sizes': { type: 'string', default: '' },
    'no-head': { type: 'boolean', default: false },
  },
});
const likes = Number(values.likes);
const seed = Number(values.seed);
const liveShare = Number(values['live-share']);
const bulkBatch = Number(values['bulk-batch']);
const liveBatch = Math.max(1, Math.round((Number(values['events-per-s']) * Number(values['batch-wait-ms'])) / 1000));
if (!Number.isSafeInteger(likes) || likes < 1000) throw new Error('--likes must be an integer >= 1000');
if (!(liveShare > 0 && liveShare < 1)) throw new Error('--live-share must be between 0 and 1');
const extraPageSizes = values['page-sizes'] === '' ? [] : values['page-sizes'].split(',').map(Number);
for (const size of extraPageSizes) {
  if (!(size >= 512 && size <= 65536 && (size & (size - 1)) === 0)) throw new Error('--page-sizes must be powers of two from 512 to 65536');
}

const CHECKPOINT_EVERY_EVENTS = 100_000;
const WAL_HEADER_BYTES = 32;
const WAL_FRAME_HEADER_BYTES = 24;
const READ_ROUNDS = 3;

interface WriterModule {
  EventWriter: new (db: Database) => { writeBatch(events: readonly IngestEvent[], cursor: object): unknown };
}
interface DatabaseModule {
  openWriter(dbPath: string, options: { busyTimeoutMs: number; walAutocheckpointPages: number }): Database;
  openReader(dbPath: string): Database;
}
interface GraphSyncModule {
  GraphSync: new (db: Database, log: Logger) => { load(): Promise<void>; stop(): void; graph: { likeCount: number } };
}

interface PhaseFigures {
  events: number;
  batches: number;
  walBytes: number;
  seconds: number;
  /** WAL frames written per database page, named by object at the end. */
  framesByPage: Map<number, number>;
}

interface BuildFigures {
  label: string;
  pageSize: number;
  likesHeld: number;
  dbBytes: number;
  objects: Array<{ name: string; bytes: number }>;
  /** Share of the live phase's WAL frames that landed on each table or index. */
  liveWalByObject: Array<{ name: string; share: number }>;
  bulk: PhaseFigures;
  live: PhaseFigures;
  dbPath: string;
  graphSyncModule: GraphSyncModule;
  databaseModule: DatabaseModule;
  /** GraphSync.load over the finished file, and the likes it holds after. */
  graphLoadSeconds: number;
  graphLikes: number;
  /** The load's query alone: every like row in id order. */
  likeScanSeconds: number;
}

const outDir = path.join(REPO_ROOT, 'bench-output');
mkdirSync(outDir, { recursive: true });
const dataset = await ensureDataset({ name: `likes-${likes}-seed${seed}`, seed, likes });
const totalLines = await countLines(dataset);
const liveFromLine = Math.floor(totalLines * (1 - liveShare));

const headDir = path.join(outDir, 'store-head');
rmSync(headDir, { recursive: true, force: true });
mkdirSync(headDir, { recursive: true });
// HEAD's src, unpacked under the repository so its imports find node_modules.
execFileSync('sh', ['-c', `git archive HEAD src | tar -x -C ${JSON.stringify(headDir)}`], { cwd: REPO_ROOT });

const treeSrc = path.join(REPO_ROOT, 'src');
const runs: Array<{ label: string; srcRoot: string; pageSize?: number }> = [
  ...(values['no-head'] ? [] : [{ label: 'HEAD', srcRoot: path.join(headDir, 'src') }]),
  { label: 'this tree', srcRoot: treeSrc },
  ...extraPageSizes.map((pageSize) => ({ label: `tree, ${pageSize} B pages`, srcRoot: treeSrc, pageSize })),
];
if (runs.length < 2) throw new Error('--no-head wants --page-sizes: there must be two builds to compare');
const builds: BuildFigures[] = [];
for (const run of runs) {
  console.error(`building the ${run.label} database...`);
  builds.push(await build(run.label, run.srcRoot, run.pageSize));
}
for (let round = 0; round < READ_ROUNDS; round++) {
  console.error(`reading every build, round ${round + 1} of ${READ_ROUNDS}...`);
  for (const b of builds) await measureReads(b);
}
for (const b of builds) rmSync(path.dirname(b.dbPath), { recursive: true, force: true });
rmSync(headDir, { recursive: true, force: true });
report(builds);

async function build(label: string, srcRoot: string, pageSize: number | undefined): Promise<BuildFigures> {
  const databaseModule = (await import(pathToFileURL(path.join(srcRoot, 'store/database.ts')).href)) as DatabaseModule;
  const { EventWriter } = (await import(pathToFileURL(path.join(srcRoot, 'ingest/writer/event-writer.ts')).href)) as WriterModule;
  const graphSyncModule = (await import(pathToFileURL(path.join(srcRoot, 'feed/graph/graph-sync.ts')).href)) as GraphSyncModule;
  const dir = path.join(outDir, `store-${label.replace(/\W+/g, '-')}`);
  rmSync(dir, { recursive: true, force: true });
  const dbPath = path.join(dir, 'feed.db');
  // A file that exists keeps its page size: openWriter's own applies to a new one only.
  if (pageSize !== undefined) makeEmptyFile(dbPath, pageSize);
  const db = databaseModule.openWriter(dbPath, { busyTimeoutMs: 5000, walAutocheckpointPages: 0 });
  db.pragma('wal_checkpoint(TRUNCATE)');
  const writer = new EventWriter(db);
  const walPath = `${dbPath}-wal`;
  const bulk: PhaseFigures = { events: 0, batches: 0, walBytes: 0, seconds: 0, framesByPage: new Map() };
  const live: PhaseFigures = { events: 0, batches: 0, walBytes: 0, seconds: 0, framesByPage: new Map() };
  let sinceCheckpoint = 0;
  const checkpoint = (phase: PhaseFigures) => {
    phase.walBytes += sizeOf(walPath);
    countFrames(walPath, phase.framesByPage);
    db.pragma('wal_checkpoint(TRUNCATE)');
    sinceCheckpoint = 0;
  };

  let batch: IngestEvent[] = [];
  let cursorUs = 0;
  const flush = (phase: PhaseFigures) => {
    if (batch.length === 0) return;
    const started = performance.now();
    writer.writeBatch(batch, { timeUs: cursorUs, seq: undefined, seqHost: undefined });
    phase.seconds += (performance.now() - started) / 1000;
    phase.events += batch.length;
    phase.batches++;
    sinceCheckpoint += batch.length;
    batch = [];
    if (sinceCheckpoint >= CHECKPOINT_EVERY_EVENTS) checkpoint(phase);
  };
  let phase = bulk;
  for await (const { event, line } of events(dataset)) {
    if (phase === bulk && line >= liveFromLine) {
      flush(bulk);
      checkpoint(bulk);
      phase = live;
    }
    batch.push(event);
    cursorUs = event.timeUs;
    if (batch.length >= (phase === bulk ? bulkBatch : liveBatch)) flush(phase);
  }
  flush(live);
  checkpoint(live);

  const likesHeld = db.prepare('SELECT count(*) FROM likes').pluck().get() as number;
  const objects = db
    .prepare<[], { name: string; bytes: number }>('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC')
    .all();
  const pageOwner = new Map(db.prepare<[], [number, string]>('SELECT pageno, name FROM dbstat').raw().all());
  const liveWalByObject = shareByObject(live.framesByPage, pageOwner);
  const actualPageSize = db.pragma('page_size', { simple: true }) as number;
  db.close();

  return {
    label,
    pageSize: actualPageSize,
    likesHeld,
    dbBytes: sizeOf(dbPath),
    objects,
    liveWalByObject,
    bulk,
    live,
    dbPath,
    graphSyncModule,
    databaseModule,
    graphLoadSeconds: Infinity,
    graphLikes: 0,
    likeScanSeconds: Infinity,
  };
}

/** One round of reads on a finished build; keeps the best time of each kind. */
async function measureReads(b: BuildFigures): Promise<void> {
  const reader = b.databaseModule.openReader(b.dbPath);
  try {
    const sync = new b.graphSyncModule.GraphSync(reader, createLogger('silent'));
    let started = performance.now();
    await sync.load();
    b.graphLoadSeconds = Math.min(b.graphLoadSeconds, (performance.now() - started) / 1000);
    b.graphLikes = sync.graph.likeCount;
    sync.stop();
    started = performance.now();
    let scanned = 0;
    for (const _ of reader.prepare('SELECT id, actor_id, post_id, time_us, deleted FROM likes ORDER BY id').raw().iterate()) scanned++;
    b.likeScanSeconds = Math.min(b.likeScanSeconds, (performance.now() - started) / 1000);
    if (scanned !== b.likesHeld) throw new Error(`scanned ${scanned} likes of ${b.likesHeld}`);
  } finally {
    reader.close();
  }
}

/** A database file with nothing in it but its header, made with `pageSize` pages. */
function makeEmptyFile(dbPath: string, pageSize: number): void {
  mkdirSync(path.dirname(dbPath), { recursive: true });
  const db = new BetterSqlite3(dbPath);
  db.pragma(`page_size = ${pageSize}`);
  db.pragma('journal_mode = WAL');
  db.pragma('user_version = 0'); // writes page 1, which fixes the page size
  db.close();
}

/** One column a build; the ratio is the second column's figure over the first's (this tree's over HEAD's). */
function report(builds: BuildFigures[]): void {
  const [head, mine] = [builds[0]!, builds[1]!];
  const totalEvents = head.bulk.events + head.live.events;
  const perLike = (b: BuildFigures) => b.dbBytes / b.likesHeld;
  const walPerEvent = (p: PhaseFigures) => p.walBytes / p.events;
  const rate = (p: PhaseFigures) => p.events / p.seconds;
  const ratio = (a: number, b: number) => round(b / a, 3);
  const width = 18;
  const line = (name: string, figure: (b: BuildFigures) => number, unit: string) =>
    console.log(
      `  ${name.padEnd(34)} ${builds.map((b) => fmt(figure(b)).padStart(width)).join(' ')} ${String(ratio(figure(head), figure(mine))).padStart(8)}  ${unit}`,
    );

  console.log('');
  console.log(`store benchmark: ${path.relative(REPO_ROOT, dataset)}, ${totalEvents.toLocaleString()} events`);
  console.log(`  bulk batches of ${bulkBatch.toLocaleString()} events, then the last ${liveShare * 100}% in live batches of ${liveBatch}`);
  console.log(`  ${''.padEnd(34)} ${builds.map((b) => b.label.padStart(width)).join(' ')} ${'ratio'.padStart(8)}`);
  line('page size', (b) => b.pageSize, 'bytes');
  line('likes held', (b) => b.likesHeld, 'rows');
  line('database', (b) => b.dbBytes, 'bytes');
  line('database per like held', perLike, 'bytes');
  line('WAL per event, bulk batches', (b) => walPerEvent(b.bulk), 'bytes');
  line('WAL per event, live batches', (b) => walPerEvent(b.live), 'bytes');
  line('insert rate, bulk batches', (b) => rate(b.bulk), 'events/s');
  line('insert rate, live batches', (b) => rate(b.live), 'events/s');
  line('graph load', (b) => b.graphLoadSeconds * 1000, 'ms');
  line('scan of the likes in id order', (b) => b.likeScanSeconds * 1000, 'ms');
  console.log('  bytes per table and index:');
  const bytesOf = (b: BuildFigures, name: string) => b.objects.find((o) => o.name === name)?.bytes ?? 0;
  const names = [...new Set(builds.flatMap((b) => b.objects.map((o) => o.name)))];
  names.sort((a, b) => bytesOf(head, b) + bytesOf(mine, b) - bytesOf(head, a) - bytesOf(mine, a));
  for (const name of names) line(`  ${name}`, (b) => bytesOf(b, name), 'bytes');
  console.log('  WAL frames of the live batches, by table and index:');
  const walBytesOf = (b: BuildFigures, name: string) => (b.liveWalByObject.find((o) => o.name === name)?.share ?? 0) * walPerEvent(b.live);
  const walNames = [...new Set(builds.flatMap((b) => b.liveWalByObject.map((o) => o.name)))];
  walNames.sort((a, b) => walBytesOf(head, b) + walBytesOf(mine, b) - walBytesOf(head, a) - walBytesOf(mine, a));
  for (const name of walNames) line(`  ${name}`, (b) => walBytesOf(b, name), 'bytes/event');

  const side = (b: BuildFigures) => ({
    label: b.label,
    page_size: b.pageSize,
    likes_held: b.likesHeld,
    db_bytes: b.dbBytes,
    db_bytes_per_like: round(perLike(b), 1),
    wal_bytes_per_event_bulk: round(walPerEvent(b.bulk), 1),
    wal_bytes_per_event_live: round(walPerEvent(b.live), 1),
    events_per_s_bulk: Math.round(rate(b.bulk)),
    events_per_s_live: Math.round(rate(b.live)),
    graph_load_s: round(b.graphLoadSeconds, 2),
    graph_likes: b.graphLikes,
    like_scan_s: round(b.likeScanSeconds, 2),
    bytes_by_object: Object.fromEntries(b.objects.map((o) => [o.name, o.bytes])),
    live_wal_bytes_per_event_by_object: Object.fromEntries(
      b.liveWalByObject.map((o) => [o.name, round(o.share * walPerEvent(b.live), 1)]),
    ),
  });
  console.log(
    JSON.stringify({
      likes_in_dataset: likes,
      events: totalEvents,
      bulk_batch: bulkBatch,
      live_batch: liveBatch,
      builds: builds.map(side),
      ratio_db_bytes_per_like: ratio(perLike(head), perLike(mine)),
      ratio_wal_bulk: ratio(walPerEvent(head.bulk), walPerEvent(mine.bulk)),
      ratio_wal_live: ratio(walPerEvent(head.live), walPerEvent(mine.live)),
      ratio_events_per_s_bulk: ratio(rate(head.bulk), rate(mine.bulk)),
      ratio_events_per_s_live: ratio(rate(head.live), rate(mine.live)),
      ratio_graph_load: ratio(head.graphLoadSeconds, mine.graphLoadSeconds),
    }),
  );
}

async function* events(file: string): AsyncGenerator<{ event: IngestEvent; line: number }> {
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    const result = parseFrame(Buffer.from(text), false, 1 << 20);
    if (result.outcome === 'event') yield { event: result.event, line };
    line++;
  }
}

async function countLines(file: string): Promise<number> {
  let count = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) count++;
  }
  return count;
}

/** Adds the WAL's frames to `framesByPage`: each frame header starts with its page number. */
function countFrames(walPath: string, framesByPage: Map<number, number>): void {
  const size = sizeOf(walPath);
  if (size < WAL_HEADER_BYTES) return;
  const fd = openSync(walPath, 'r');
  try {
    const header = Buffer.alloc(WAL_HEADER_BYTES);
    readSync(fd, header, 0, WAL_HEADER_BYTES, 0);
    const frameBytes = WAL_FRAME_HEADER_BYTES + header.readUInt32BE(8);
    const frameHeader = Buffer.alloc(4);
    for (let at = WAL_HEADER_BYTES; at + frameBytes <= size; at += frameBytes) {
      readSync(fd, frameHeader, 0, 4, at);
      const page = frameHeader.readUInt32BE(0);
      framesByPage.set(page, (framesByPage.get(page) ?? 0) + 1);
    }
  } finally {
    closeSync(fd);
  }
}

/** Frames per object, as shares of all frames; pages no object holds now are "(free)". */
function shareByObject(framesByPage: Map<number, number>, pageOwner: Map<number, string>): Array<{ name: string; share: number }> {
  const byName = new Map<string, number>();
  let total = 0;
  for (const [page, frames] of framesByPage) {
    const name = pageOwner.get(page) ?? '(free)';
    byName.set(name, (byName.get(name) ?? 0) + frames);
    total += frames;
  }
  return [...byName].map(([name, frames]) => ({ name, share: frames / total })).sort((a, b) => b.share - a.share);
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

function fmt(value: number): string {
  return Number.isInteger(value) ? value.toLocaleString() : value.toLocaleString(undefined, { maximumFractionDigits: 1 });
}
