/**
 * One side of the graph benchmark, in a process of its own so its memory is its own:
 * loads the like graph of a database with the GraphSync of one source tree (this one, or
 * an older commit's unpacked by bench-graph.ts), then ranks sampled users with that
 * tree's ranker. Prints one JSON line. GRAPH_BENCH_MEMORY_MB (this tree only) loads under
 * that memory budget, as GRAPH_MEMORY_MB does in the service. GRAPH_BENCH_SNAPSHOT (this
 * tree only) names a snapshot file: the load starts from it when it can, and a load from
 * the whole table writes it afterwards (timed).
 *
 *   node --import tsx scripts/bench/graph-child.ts <tree> <db> <users> <nowS> <seed>
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [tree, dbPath, usersArg, nowArg, seedArg] = process.argv.slice(2) as [string, string, string, string, string];
const ROUNDS = 3;
/** Ids of a ranking kept for the comparison of trees: a page and a half. */
const COMPARED_IDS = 50;

const load = (file: string) => import(pathToFileURL(path.join(tree, 'src', file)).href);
const { GraphSync } = await load('feed/graph/graph-sync.ts');
const { rankForUser } = await load('feed/ranker/pipeline.ts');
const { DEFAULT } = await load('feed/ranker/params.ts');
const { openReader } = await load('store/database.ts');
const { createLogger } = await load('observability/logger.ts');

const db = openReader(dbPath);
const budgetMb = process.env.GRAPH_BENCH_MEMORY_MB;
const snapshotFile = process.env.GRAPH_BENCH_SNAPSHOT;
const options = {
  ...(budgetMb ? { memoryBudgetBytes: Number(budgetMb) * 2 ** 20 } : {}),
  // Written only when asked, below: an interval never passes.
  ...(snapshotFile ? { snapshot: { path: snapshotFile, intervalMs: Number.POSITIVE_INFINITY } } : {}),
};
const sync = Object.keys(options).length > 0 ? new GraphSync(db, createLogger('silent'), options) : new GraphSync(db, createLogger('silent'));
const loadStarted = performance.now();
await sync.load();
const loadS = (performance.now() - loadStarted) / 1000;
const loadStart = sync.loadStart;
global.gc?.();
const { graph } = sync;
const memory = process.memoryUsage();

// Users drawn by activity: the actors of likes picked at random.
const newestId = graph.newestLikeId as number;
const actorOf = db.prepare('SELECT actor_id FROM likes WHERE id = ?').pluck();
let state = Number(seedArg) >>> 0 || 1;
const random = () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const users: number[] = [];
while (users.length < Number(usersArg)) {
  const actor = actorOf.get(1 + Math.floor(random() * newestId)) as number | undefined;
  if (actor !== undefined) users.push(actor);
}

const nowS = Number(nowArg);
const times = users.map(() => [] as number[]);
const rankings: string[] = [];
for (let round = 0; round < ROUNDS; round++) {
  users.forEach((user, u) => {
    const started = performance.now();
    const ranked = rankForUser(graph, user, DEFAULT, nowS) as Float64Array | Int32Array | undefined;
    times[u]!.push(performance.now() - started);
    if (round === 0) rankings.push(ranked ? Array.from(ranked.subarray(0, COMPARED_IDS)).join(',') : '-');
  });
}
const perUser = times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!).sort((a, b) => a - b);
const quantile = (q: number) => perUser[Math.min(perUser.length - 1, Math.floor(q * perUser.length))]!;
const peakRssKb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
const written = snapshotFile && loadStart?.from === 'database' ? await sync.writeSnapshot() : undefined;

console.log(
  JSON.stringify({
    loadS,
    likes: graph.likeCount,
    posts: graph.postCount,
    graphBytes: graph.memoryBytes(),
    peakGraphBytes: Math.max(graph.memoryBytes(), graph.compactionPeakBytes),
    likesLeftOut: budgetMb ? sync.budgetReport().likesLeftOut : 0,
    rssMb: memory.rss / 2 ** 20,
    peakRssMb: peakRssKb / 1024,
    heapMb: memory.heapUsed / 2 ** 20,
    rankP50Ms: quantile(0.5),
    rankP99Ms: quantile(0.99),
    rankings,
    loadStart,
    snapshotWriteS: written?.seconds,
    snapshotBytes: written?.bytes,
    peakRssAfterWriteMb: written ? Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024 : undefined,
  }),
);
db.close();
