/**
 * Offline recommendation quality: generate a like stream, build the like graph as the
 * service holds it at a cut-off, rank each active user at the cut-off, and score the
 * top 50 against what they liked afterwards.
 *
 *   npm run eval [-- --likes 2000000 --seed 42 --cutoff-hours 12 --users 2000]
 *                [-- --communities N --in-community-share 0.9 --fresh-decay-hours 4]
 *   npm run eval -- --sweep [--likes ... --users ...]
 *
 * Progress goes to stderr; stdout gets the table and one final JSON line. The sweep runs the
 * generator settings of testkit/eval/sweep.ts and prints one summary table and a JSON line
 * with each setting's ratios and the worst of them.
 *
 * The choices, and why:
 * - 2,000,000 likes by default (40,000 users, 40 communities of taste). The generator makes
 *   one community per 1,000 users; at 300,000 likes there are only 6, of Zipf sizes, so one
 *   global popular list is nearly every user's community list and says little about
 *   personalisation. Smaller runs are a flag away (`--likes 300000` takes about 10 s).
 * - The last 12 hours of the 7-day window are held out: long enough for most active users to
 *   like a few posts, short enough that the graph at the cut-off is still the one they liked in.
 * - Active users have at least 5 live likes before the cut-off (past the cold-start threshold,
 *   with room to spare) and at least 3 relevant held-out posts (so recall is not 0-or-1 noise).
 *   At most `--users` of them, a seeded uniform sample.
 * - Relevant posts leave out likes of posts first seen after the cut-off (nothing can rank
 *   them at the cut-off), likes undone later, and likes of the user's own or gone posts.
 * - The popularity baseline is the service's popular list minus the posts the user already
 *   liked (a little stronger than the list as served). Cold starts fall back to it.
 * - Work is the like-list slots the kernel's walks touch, counted through a wrapper of the graph.
 * - The rankers are held against the strongest reference (co-like count, popularity, recency
 *   co-like, item-kNN, random walk; see testkit/eval/references/): default should beat its
 *   recall by 10 %, cheap should match it.
 * - A cold-start slice follows (testkit/eval/cold-start.ts): users with their likes before the
 *   cut-off cut to the newest 0-5, ranked from whom they follow in the dataset's model, as the
 *   service blends it with their personal ranking, against the popular list. It runs last, as
 *   it takes likes out of the graph.
 */
import { parseArgs } from 'node:util';
import { COLD_MAX_LIKES } from '../testkit/eval/cold-start.js';
import { compareToReferences, type EvalOptions, type EvalReport, type MethodResult, runEvaluation } from '../testkit/eval/evaluate.js';
import { SWEEP_SETTINGS } from '../testkit/eval/sweep.js';
import { variantMethods } from '../testkit/eval/methods.js';
import { DEFAULT, PRESETS, type PresetName, type RankerParams } from '../src/feed/ranker/params.js';

const USAGE =
  'usage: npm run eval -- [--likes 2000000] [--seed 42] [--cutoff-hours 12] [--users 2000]\n' +
  '                       [--communities N] [--in-community-share 0.9] [--fresh-decay-hours 4] [--sweep]\n' +
  '                       [--variants \'{"name": {<RankerParams overrides>}, ...}\' [--base default|cheap]]';
const PROGRESS_EVERY_MS = 1000;

function main(): void {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      likes: { type: 'string', default: '2000000' },
      seed: { type: 'string', default: '42' },
      'cutoff-hours': { type: 'string', default: '12' },
      users: { type: 'string', default: '2000' },
      communities: { type: 'string' },
      'in-community-share': { type: 'string' },
      'fresh-decay-hours': { type: 'string' },
      sweep: { type: 'boolean' },
      variants: { type: 'string' },
      base: { type: 'string', default: 'default' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const likes = positiveInteger('likes', values.likes);
  const seed = nonNegativeInteger('seed', values.seed);
  const cutoffHours = positiveNumber('cutoff-hours', values['cutoff-hours']);
  const maxUsers = positiveInteger('users', values.users);
  const generator = {
    communities: values.communities === undefined ? undefined : positiveInteger('communities', values.communities),
    inCommunityLikeShare: values['in-community-share'] === undefined ? undefined : share('in-community-share', values['in-community-share']),
    freshDecayHours: values['fresh-decay-hours'] === undefined ? undefined : positiveNumber('fresh-decay-hours', values['fresh-decay-hours']),
  };
  const base = { likes, seed, cutoffHours, maxUsers };
  if (values.sweep) {
    if (Object.values(generator).some((v) => v !== undefined)) usage('--sweep: the settings swept set the generator knobs themselves');
    sweep(base);
    return;
  }
  if (values.variants !== undefined) {
    variants(base, generator, values.base, values.variants);
    return;
  }
  const started = performance.now();
  const report = runEvaluation({ ...base, ...generator, progress: progressLine(started, '') });
  process.stderr.write(`[${seconds(started)}s] done\n`);
  console.log(renderTable(report));
  console.log(JSON.stringify(summary(report, (performance.now() - started) / 1000)));
}

/**
 * Tuning: the preset `baseName` and each variant of it on the same graph and users, against
 * the references (no cold-start slice). Tune on another seed than the one reported.
 */
function variants(base: EvalOptions, generator: Partial<EvalOptions>, baseName: string, json: string): void {
  if (!(baseName in PRESETS)) usage(`--base: expected one of ${Object.keys(PRESETS).join(', ')}, got ${baseName}`);
  let overrides: Record<string, Partial<RankerParams>>;
  try {
    overrides = JSON.parse(json) as Record<string, Partial<RankerParams>>;
  } catch (err) {
    usage(`--variants: not JSON (${(err as Error).message})`);
  }
  const known = new Set(Object.keys(DEFAULT));
  for (const [name, variant] of Object.entries(overrides)) {
    if (typeof variant !== 'object' || variant === null) usage(`--variants: ${name} must be an object of parameter overrides`);
    for (const [key, value] of Object.entries(variant)) {
      if (!known.has(key)) usage(`--variants: ${name}.${key} is not a ranker parameter`);
      if (typeof value !== 'number' || Number.isNaN(value)) usage(`--variants: ${name}.${key} must be a number`);
    }
  }
  const started = performance.now();
  const methods = variantMethods(baseName, PRESETS[baseName as PresetName], overrides);
  const report = runEvaluation({ ...base, ...generator, methods, coldStart: false, progress: progressLine(started, '') });
  process.stderr.write(`[${seconds(started)}s] done\n`);
  const header = ['method', `recall@${report.options.k}`, `nDCG@${report.options.k}`, 'ms/request', 'work/request', 'workBound'];
  const rows = report.methods.map(methodCells);
  console.log(`variants of ${baseName}: ${base.likes.toLocaleString('en')} likes, seed ${base.seed}, ${report.evaluatedUsers} users\n`);
  console.log(table(header, rows).join('\n'));
  console.log(JSON.stringify({ likes: base.likes, seed: base.seed, users: report.evaluatedUsers, ...recalls(report.methods), seconds: Number(seconds(started)) }));
}

/** Each setting in turn, then one table of them and their worst ratios. */
function sweep(base: EvalOptions): void {
  const started = performance.now();
  const runs = SWEEP_SETTINGS.map((setting) => {
    const report = runEvaluation({ ...base, ...setting.generator, progress: progressLine(started, `${setting.name}: `) });
    return { setting: setting.name, report, comparison: compareToReferences(report.methods) };
  });
  process.stderr.write(`[${seconds(started)}s] done\n`);
  const names = runs[0]!.report.methods.map((m) => m.name);
  const header = ['setting', 'communities', ...names, 'best reference', 'default/best', 'cheap/best'];
  const rows = runs.map(({ setting, report, comparison }) => [
    setting,
    String(report.options.communities),
    ...report.methods.map((m) => m.recall.toFixed(4)),
    comparison.best.name,
    comparison.ratioDefaultBest.toFixed(2),
    comparison.ratioCheapBest.toFixed(2),
  ]);
  console.log(`recall@${runs[0]!.report.options.k} over generator settings (${base.likes.toLocaleString('en')} likes, seed ${base.seed})\n`);
  console.log(table(header, rows).join("\n"));
  console.log(
    JSON.stringify({
      likes: base.likes,
      seed: base.seed,
      settings: runs.map(({ setting, report, comparison }) => ({
        setting,
        communities: report.options.communities,
        in_community_share: report.options.inCommunityLikeShare,
        fresh_decay_hours: report.options.freshDecayHours,
        ...recalls(report.methods),
        ...referenceFields(report.methods),
      })),
      worst_ratio_default_best: round(Math.min(...runs.map((r) => r.comparison.ratioDefaultBest))),
      worst_ratio_cheap_best: round(Math.min(...runs.map((r) => r.comparison.ratioCheapBest))),
      seconds: round((performance.now() - started) / 1000, 1),
    }),
  );
}

function progressLine(started: number, prefix: string): NonNullable<EvalOptions['progress']> {
  let lastReport = 0;
  let lastPhase = '';
  return (phase, done, total, approximate) => {
    const now = performance.now();
    if (phase === lastPhase && now - lastReport < PROGRESS_EVERY_MS) return;
    lastPhase = phase;
    lastReport = now;
    const share = total > 0 ? Math.min(100, Math.round((100 * done) / total)) : 0;
    process.stderr.write(`[${seconds(started)}s] ${prefix}${phase}: ${done.toLocaleString('en')} / ${approximate ? '~' : ''}${total.toLocaleString('en')} (${share}%)\n`);
  };
}

function renderTable(r: EvalReport): string {
  const s = r.stats;
  const lines = [
    `dataset: ${r.options.likes.toLocaleString('en')} likes, seed ${r.options.seed}, ${r.options.communities} communities, in-community share ${r.options.inCommunityLikeShare}, fresh decay ${r.options.freshDecayHours} h, ${s.lines.toLocaleString('en')} lines (${s.rejected} rejected), ${s.actors.toLocaleString('en')} actors, ${s.posts.toLocaleString('en')} posts`,
    `cut-off: last ${r.options.cutoffHours} h held out; graph at cut-off ${s.liveLikesAtCutoff.toLocaleString('en')} live likes; ${s.likesAfter.toLocaleString('en')} likes after it`,
    `held-out likes left out: ${s.heldOutNewPost.toLocaleString('en')} of posts first seen after the cut-off, ${s.heldOutUnliked} unliked, ${s.heldOutOwnPost} own posts, ${s.heldOutGonePost} of posts gone at the cut-off`,
    `users: ${r.evaluatedUsers} evaluated of ${r.eligibleUsers} eligible (>= ${r.options.minLikesBefore} likes before, >= ${r.options.minLikesAfter} relevant after)`,
    `relevant posts: ${r.relevantPosts.toLocaleString('en')}, of which ${r.reachablePosts.toLocaleString('en')} (${pct(r.reachablePosts / Math.max(1, r.relevantPosts))}) had a like at the cut-off`,
    `popular list: ${r.popularListLength} posts, computed once in ${r.popularComputeMs.toFixed(0)} ms`,
    '',
  ];
  const header = ['method', `recall@${r.options.k}`, `nDCG@${r.options.k}`, 'ms/request', 'work/request', 'workBound', 'cold starts'];
  const rows = r.methods.map((m) => [...methodCells(m), m.workBound === undefined ? '-' : String(m.coldStarts)]);
  lines.push(...table(header, rows));
  const by = Object.fromEntries(r.methods.map((m) => [m.name, m]));
  const def = by.default!;
  const pop = by.popularity!;
  const cheap = by.cheap!;
  const colike = by.colike!;
  lines.push(
    '',
    `targets: default/popularity = ${ratio(def.recall, pop.recall)} (>= 2), default/colike = ${ratio(def.recall, colike.recall)} (> 1), cheap/default = ${ratio(cheap.recall, def.recall)} (>= 0.85)`,
  );
  const { best, ratioDefaultBest, ratioCheapBest } = compareToReferences(r.methods);
  const work = (m: MethodResult) => (m.workPerRequest === undefined ? 'none per request' : `${Math.round(m.workPerRequest).toLocaleString('en')}/request`);
  lines.push(
    `best reference: ${best.name} (recall@${r.options.k} ${best.recall.toFixed(4)})`,
    `targets: default/best_reference = ${ratioDefaultBest.toFixed(2)} (>= 1.10), cheap/best_reference = ${ratioCheapBest.toFixed(2)} (>= 1.00)`,
    `work: cheap ${work(cheap)}, ${ratio(cheap.workPerRequest ?? 0, best.workPerRequest ?? 0)} of the best reference's (${work(best)}), ${ratio(cheap.workPerRequest ?? 0, def.workPerRequest ?? 0)} of default's (${work(def)})`,
  );
  return [...lines, '', ...coldStartTable(r)].join('\n');
}

function coldStartTable(r: EvalReport): string[] {
  const c = r.coldStart;
  if (c === undefined) return [];
  const by = Object.fromEntries(c.methods.map((m) => [m.name, m]));
  return [
    `cold start: ${c.evaluatedUsers} of ${c.eligibleUsers} eligible users left with their newest 0-${COLD_MAX_LIKES} likes before the cut-off (${c.zeroLikeUsers} with none), following ${c.meanFollows.toFixed(1)} accounts on average (${c.meanFollowsSeen.toFixed(1)} seen in the stream)`,
    '',
    ...table(
      ['method', `recall@${r.options.k}`, `nDCG@${r.options.k}`, 'ms/request', 'work/request', 'fallbacks'],
      c.methods.map((m) => [m.name, m.recall.toFixed(4), m.ndcg.toFixed(4), m.msPerRequest.toFixed(2), Math.round(m.workPerRequest).toLocaleString('en'), String(m.fallbacks)]),
    ),
    '',
    `target: follows/popularity = ${ratio(by.follows!.recall, by.popularity!.recall)} (>= 2)`,
  ];
}

/** A method's row: name, recall, nDCG, ms, work per request and work bound. */
function methodCells(m: MethodResult): string[] {
  return [
    m.name,
    m.recall.toFixed(4),
    m.ndcg.toFixed(4),
    m.msPerRequest.toFixed(2),
    m.workPerRequest === undefined ? '-' : Math.round(m.workPerRequest).toLocaleString('en'),
    m.workBound === undefined ? '-' : m.workBound.toLocaleString('en'),
  ];
}

/** Columns padded to their widest cell, the first to the left and the rest to the right. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const fmt = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
}


function recalls(methods: readonly MethodResult[]): Record<string, number> {
  return Object.fromEntries(methods.map((m) => [`recall50_${m.name}`, round(m.recall)]));
}

function referenceFields(methods: readonly MethodResult[]): Record<string, unknown> {
  const { best, ratioDefaultBest, ratioCheapBest } = compareToReferences(methods);
  return { best_reference: best.name, ratio_default_best: round(ratioDefaultBest), ratio_cheap_best: round(ratioCheapBest) };
}

function summary(r: EvalReport, seconds: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    likes: r.options.likes,
    seed: r.options.seed,
    cutoff_hours: r.options.cutoffHours,
    communities: r.options.communities,
    in_community_share: r.options.inCommunityLikeShare,
    fresh_decay_hours: r.options.freshDecayHours,
    eligible_users: r.eligibleUsers,
    users: r.evaluatedUsers,
    relevant_posts: r.relevantPosts,
    reachable_posts: r.reachablePosts,
    heldout_likes: r.stats.likesAfter,
    heldout_new_post: r.stats.heldOutNewPost,
  };
  Object.assign(out, recalls(r.methods));
  for (const m of r.methods) out[`ndcg50_${m.name}`] = round(m.ndcg);
  Object.assign(out, referenceFields(r.methods));
  for (const m of r.methods) {
    out[`ms_per_request_${m.name}`] = round(m.msPerRequest, 3);
    if (m.workPerRequest !== undefined) out[`work_per_request_${m.name}`] = Math.round(m.workPerRequest);
    if (m.workBound !== undefined) {
      out[`work_bound_${m.name}`] = m.workBound;
      out[`cold_starts_${m.name}`] = m.coldStarts;
    }
  }
  if (r.coldStart !== undefined) {
    const cold = Object.fromEntries(r.coldStart.methods.map((m) => [m.name, m]));
    out.cold_users = r.coldStart.evaluatedUsers;
    for (const m of r.coldStart.methods) {
      out[`recall50_cold_${m.name.replace('-', '_')}`] = round(m.recall);
      out[`ndcg50_cold_${m.name.replace('-', '_')}`] = round(m.ndcg);
      out[`ms_per_request_cold_${m.name.replace('-', '_')}`] = round(m.msPerRequest, 3);
    }
    out.ratio_cold_follows_popularity = round(cold.follows!.recall / Math.max(1e-9, cold.popularity!.recall), 2);
  }
  out.seconds = round(seconds, 1);
  return out;
}

const round = (x: number, digits = 4): number => Number(x.toFixed(digits));
const seconds = (started: number): string => ((performance.now() - started) / 1000).toFixed(1);
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : 'n/a');

function positiveInteger(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) usage(`--${name}: expected a positive integer, got ${value}`);
  return n;
}

function nonNegativeInteger(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) usage(`--${name}: expected a non-negative integer, got ${value}`);
  return n;
}

function positiveNumber(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) usage(`--${name}: expected a positive number, got ${value}`);
  return n;
}

function share(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) usage(`--${name}: expected a number in [0, 1], got ${value}`);
  return n;
}

function usage(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

try {
  main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
}
