/**
 * The like graph's memory, load time and ranking cost at firehose sizes, for this tree
 * and an older commit side by side in one run (same database, same users):
 *
 *   npm run bench:graph [-- --sizes 10000000,40000000 --base main --users 500 --seed 7 --memory-mb 150 --tail 200000 --data-dir DIR]
 *
 * Each size gets a database shaped like the firehose (scripts/bench/graph-dataset.ts),
 * kept in bench-output/graph-data/ for the next run. Each tree loads it in a process of
 * its own (scripts/bench/graph-child.ts); the base tree is the commit's src/ unpacked
 * under node_modules/.cache (so its imports find the packages). Per size and tree it
 * prints load seconds, the graph's typed arrays (MB and bytes per like held), RSS, and
 * the ranking's p50/p99 over the users; then how many rankings the trees agree on, and a
 * closing JSON line of this tree's figures at the largest size. --memory-mb adds a third
 * load of this tree under that graph memory budget (GRAPH_MEMORY_MB): the likes it left
 * out, its graph's peak bytes (compactions included) against the budget, and its RSS.
 *
 * Then a start from the saved graph (graph-snapshot.ts), as after a restart: a copy of the
 * database without its newest --tail likes (default 200,000, ten minutes of the firehose:
 * the snapshot interval) is loaded and its graph written to a snapshot file (timed, its
 * size), which this tree then starts the full database from, reading the tail: seconds to
 * ready, memory, rankings against the full load's. --data-dir keeps the datasets elsewhere.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../testkit/processes/processes.js';
import { ensureGraphDataset } from './bench/graph-dataset.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000000,40000000' },
    base: { type: 'string', default: 'main' },
    users: { type: 'string', default: '500' },
    seed: { type: 'string', default: '7' },
    'memory-mb': { type: 'string' },
    tail: { type: 'string', default: '200000' },
    'data-dir': { type: 'string' },
  },
});
const sizes = values.sizes.split(',').map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n < 100_000)) throw new Error(`--sizes: whole numbers of likes, each at least 100000 (got ${values.sizes})`);
const seed = Number(values.seed);
const progress = (line: string) => process.stderr.write(`${line}\n`);

interface Side {
  loadS: number;
  likes: number;
  posts: number;
  graphBytes: number;
  peakGraphBytes: number;
  likesLeftOut?: number;
  rssMb: number;
  peakRssMb: number;
  rankP50Ms: number;
  rankP99Ms: number;
  rankings: string[];
  loadStart?: { from: string; reason?: string };
  snapshotWriteS?: number;
  snapshotBytes?: number;
  peakRssAfterWriteMb?: number;
}

/** The base commit's src/, where its imports resolve to this checkout's packages. */
function unpackBase(rev: string): string {
  const commit = execFileSync('git', ['rev-parse', '--short', rev], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  const dir = path.join(REPO_ROOT, 'node_modules', '.cache', 'bench-base', commit);
  mkdirSync(dir, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${commit} src | tar -x -C ${dir}`], { cwd: REPO_ROOT });
  return dir;
}

function runSide(tree: string, db: string, nowS: number, memoryMb?: string, snapshot?: { file: string; users?: string }): Side {
  const child = spawnSync(
    process.execPath,
    ['--expose-gc', '--max-old-space-size=16384', '--import', 'tsx', path.join(REPO_ROOT, 'scripts/bench/graph-child.ts'), tree, db, snapshot?.users ?? values.users, String(nowS), String(seed)],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      maxBuffer: 1 << 28,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, GRAPH_BENCH_MEMORY_MB: memoryMb ?? '', GRAPH_BENCH_SNAPSHOT: snapshot?.file ?? '' },
    },
  );
  if (child.status !== 0) throw new Error(`graph child for ${tree} exited ${child.status}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Side;
}

// --base none: this tree alone (and its start from a snapshot).
const baseTree = values.base === 'none' ? undefined : unpackBase(values.base);
const dataDir = values['data-dir'] ?? path.join(REPO_ROOT, 'bench-output', 'graph-data');
mkdirSync(dataDir, { recursive: true });
const row = (cells: Array<string | number>) => console.log(cells.map((c) => String(c).padStart(12)).join(''));
row(['likes', 'tree', 'load s', 'graph MB', 'B/like', 'RSS MB', 'peak MB', 'rank p50', 'rank p99']);
let last: Side | undefined;
for (const size of sizes) {
  const dataset = ensureGraphDataset(path.join(dataDir, `graph-${size}-${seed}.db`), size, seed, progress);
  const sides: Array<[string, Side]> = [];
  const trees: Array<[string, string]> = baseTree ? [[values.base, baseTree], ['this tree', REPO_ROOT]] : [['this tree', REPO_ROOT]];
  for (const [name, tree] of trees) {
    progress(`${size} likes: loading with ${name}`);
    const side = runSide(tree, dataset.path, dataset.newestTimeS);
    sides.push([name, side]);
    row([size, name, side.loadS.toFixed(1), (side.graphBytes / 2 ** 20).toFixed(0), (side.graphBytes / side.likes).toFixed(1), side.rssMb.toFixed(0), side.peakRssMb.toFixed(0), side.rankP50Ms.toFixed(2), side.rankP99Ms.toFixed(2)]);
  }
  const after = sides.at(-1)![1];
  if (sides.length === 2) {
    const before = sides[0]![1];
    const same = before.rankings.filter((ranking, i) => ranking === after.rankings[i]).length;
    row([size, 'ratio', (after.loadS / before.loadS).toFixed(2), (after.graphBytes / before.graphBytes).toFixed(2), '', (after.rssMb / before.rssMb).toFixed(2), (after.peakRssMb / before.peakRssMb).toFixed(2), (after.rankP50Ms / before.rankP50Ms).toFixed(2), (after.rankP99Ms / before.rankP99Ms).toFixed(2)]);
    console.log(`${size} likes: live likes ${before.likes} / ${after.likes}; the first ${50} ids of ${same} of ${after.rankings.length} rankings are the same in both trees`);
  }
  const budgetMb = values['memory-mb'];
  if (budgetMb !== undefined) {
    progress(`${size} likes: loading with this tree under a ${budgetMb} MB budget`);
    const held = runSide(REPO_ROOT, dataset.path, dataset.newestTimeS, budgetMb);
    const sameHeld = after.rankings.filter((ranking, i) => ranking === held.rankings[i]).length;
    row([size, `${budgetMb} MB`, held.loadS.toFixed(1), (held.graphBytes / 2 ** 20).toFixed(0), (held.graphBytes / held.likes).toFixed(1), held.rssMb.toFixed(0), held.peakRssMb.toFixed(0), held.rankP50Ms.toFixed(2), held.rankP99Ms.toFixed(2)]);
    console.log(
      `${size} likes under ${budgetMb} MB: ${held.likes} held, ${held.likesLeftOut ?? 'an unknown number (no live count in the bench database)'} left out; graph peak ${(held.peakGraphBytes / 2 ** 20).toFixed(0)} MB (${((100 * held.peakGraphBytes) / (Number(budgetMb) * 2 ** 20)).toFixed(0)} % of the budget); ${sameHeld} of ${held.rankings.length} rankings as with the whole window`,
    );
  }
  const tail = Number(values.tail);
  const snapshot = `${dataset.path}.graph`;
  progress(`${size} likes: writing a snapshot ${tail} likes behind, then starting from it`);
  const written = snapshotBehind(dataset.path, tail, snapshot);
  const restarted = runSide(REPO_ROOT, dataset.path, dataset.newestTimeS, undefined, { file: snapshot });
  rmSync(snapshot, { force: true });
  if (restarted.loadStart?.from !== 'snapshot') throw new Error(`the start did not use the snapshot: ${JSON.stringify(restarted.loadStart)}`);
  const sameRestarted = after.rankings.filter((ranking, i) => ranking === restarted.rankings[i]).length;
  row([size, 'snapshot', restarted.loadS.toFixed(1), (restarted.graphBytes / 2 ** 20).toFixed(0), (restarted.graphBytes / restarted.likes).toFixed(1), restarted.rssMb.toFixed(0), restarted.peakRssMb.toFixed(0), restarted.rankP50Ms.toFixed(2), restarted.rankP99Ms.toFixed(2)]);
  console.log(
    `${size} likes: snapshot written in ${written.snapshotWriteS!.toFixed(1)} s, ${(written.snapshotBytes! / 2 ** 20).toFixed(0)} MB (peak RSS ${written.peakRssMb.toFixed(0)} MB loading, ${written.peakRssAfterWriteMb!.toFixed(0)} MB after the write); ` +
      `a start from it and ${tail} likes after: ${restarted.loadS.toFixed(1)} s to ready against ${after.loadS.toFixed(1)} s from the whole table; live likes ${restarted.likes} / ${after.likes}; ${sameRestarted} of ${after.rankings.length} rankings the same`,
  );
  last = after;
}

/**
 * Writes `snapshot`: the graph of a copy of the database without its newest `tail` likes,
 * as a running service would have saved it that many likes ago. Returns that load's side.
 */
function snapshotBehind(dbPath: string, tail: number, snapshot: string): Side {
  const behind = `${dbPath}.behind.db`;
  copyFileSync(dbPath, behind);
  const db = new Database(behind);
  db.prepare('DELETE FROM likes WHERE id > (SELECT max(id) FROM likes) - ?').run(tail);
  db.close();
  rmSync(`${behind}.graph`, { force: true });
  try {
    const side = runSide(REPO_ROOT, behind, 0, undefined, { file: `${behind}.graph`, users: '0' });
    renameSync(`${behind}.graph`, snapshot);
    return side;
  } finally {
    for (const file of [behind, `${behind}-wal`, `${behind}-shm`, `${behind}.graph`]) rmSync(file, { force: true });
  }
}
console.log(
  JSON.stringify({
    likes: last!.likes,
    graph_bytes_per_like: last!.graphBytes / last!.likes,
    load_s: last!.loadS,
    rss_mb: last!.rssMb,
    peak_rss_mb: last!.peakRssMb,
    rank_p50_ms: last!.rankP50Ms,
    rank_p99_ms: last!.rankP99Ms,
  }),
);
