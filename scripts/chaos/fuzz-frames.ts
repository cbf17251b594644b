/**
 * Fuzzed Jetstream frames (truncated JSON, wrong types, huge strings, deep nesting,
 * the interop vectors' invalid identifiers, binary and oversized frames) mixed into a
 * valid stream, read by the real service process. Compared with a clean run of the
 * valid stream alone: the same likes stored, every bad frame counted as rejected with
 * the reason it deserves, memory within 2x of the clean run's.
 */
import { isDeepStrictEqual } from 'node:util';
import { metricSamples, metricTotal } from '../../testkit/metrics/prometheus.js';
import { likeLines } from '../../testkit/processes/primary.js';
import { type ChaosScenario, Checks } from './outcome.js';
import { ingestRun } from './support/fuzz-ingest-run.js';
import { BAD_CATEGORIES, type BadCategory, expectedLikes, fuzzMix, type MixOptions } from './support/fuzz-frame-mix.js';

const MAX_FRAME_BYTES = 256 * 1024; // the service's default INGEST_MAX_FRAME_BYTES
const SEED = 8;
/**
 * Peak RSS of the fuzzed run over the clean run's. Bad frames are dropped at parse and
 * nothing keeps them; what they cost is transient (a frame of up to 1 MiB in the
 * socket's buffer, its string while parsed). A leak of even a few bytes per bad frame,
 * or frames queued faster than parsed, shows as far more than 2x at 100,000 frames.
 */
const RSS_RATIO_BOUND = 2;

export const fuzzFrames: ChaosScenario = {
  name: 'fuzz-frames',
  summary: 'fuzzed Jetstream frames mixed into a valid stream, read by the real service',
  inCi: true,
  async run(ctx) {
    const checks = new Checks('fuzz-frames');
    const badFrames = ctx.size === 'full' ? 100_000 : 20_000;
    const validLikes = ctx.size === 'full' ? 100_000 : 20_000;
    const timeoutMs = ctx.size === 'full' ? 900_000 : 240_000;

    const lines = likeLines(validLikes, SEED);
    const options: MixOptions = { validLines: lines, badFrames, seed: SEED, maxFrameBytes: MAX_FRAME_BYTES };
    const plan = tally(options);
    const validLive = expectedLikes(lines);
    ctx.log(`${lines.length} valid lines, ${badFrames} bad frames (${(plan.bytes / 1e6).toFixed(0)} MB in all), ${plan.ignored} unwanted, ${plan.storedLikes.length} likes with non-TID keys`);

    const clean = await ingestRun(ctx, 'clean run', () => lines.map((data) => ({ data, binary: false })), lines.length, timeoutMs);
    const fuzzed = await ingestRun(ctx, 'fuzzed run', () => mapFrames(fuzzMix(options)), plan.frames, timeoutMs);

    checks.check(
      'the service stayed up through the fuzzed stream (health 200), on one connection',
      fuzzed.alive && fuzzed.connections === 1,
      `alive ${fuzzed.alive}, ${fuzzed.connections} connection(s), exit ${fuzzed.exitCode} on SIGTERM, ${fuzzed.seconds.toFixed(0)} s vs ${clean.seconds.toFixed(0)} s clean`,
    );
    const ratio = fuzzed.peakRssMb / clean.peakRssMb;
    checks.check(
      `peak RSS stays under ${RSS_RATIO_BOUND}x a clean run of the valid stream alone`,
      clean.peakRssMb > 0 && ratio < RSS_RATIO_BOUND,
      `${fuzzed.peakRssMb.toFixed(0)} MB fuzzed vs ${clean.peakRssMb.toFixed(0)} MB clean (${ratio.toFixed(2)}x), ${(plan.bytes / 1e6).toFixed(0)} MB of frames`,
    );

    const expectedClean = [...validLive.values()].sort();
    const expectedFuzzed = [...validLive.values(), ...plan.storedLikes].sort();
    checks.check(
      'stored likes = the valid stream\'s live likes exactly (clean run, and fuzzed run plus its non-TID-key likes)',
      isDeepStrictEqual(clean.likes, expectedClean) && isDeepStrictEqual(fuzzed.likes, expectedFuzzed),
      `${fuzzed.likes.length} stored of ${expectedFuzzed.length} expected (${plan.storedLikes.length} with non-TID keys); clean ${clean.likes.length} of ${expectedClean.length}; ${difference(fuzzed.likes, expectedFuzzed)}`,
    );

    const rejected = metricTotal(fuzzed.metrics, 'feedgen_ingest_rejections_total');
    const cleanRejected = metricTotal(clean.metrics, 'feedgen_ingest_rejections_total');
    checks.check(
      'sum of feedgen_ingest_rejections_total = the bad frames sent (and none in the clean run)',
      rejected === badFrames && cleanRejected === 0,
      `${rejected} rejections counted for ${badFrames} bad frames; clean run ${cleanRejected}`,
    );
    const byReason = reasonMismatches(fuzzed.metrics, plan.byReason);
    checks.check(
      'rejections by reason = the reason each bad frame was built to get',
      byReason.length === 0,
      byReason.length === 0 ? reasonFigures(plan.byReason) : byReason.join('; '),
    );
    const rejectedEvents = metricTotal(fuzzed.metrics, 'feedgen_ingest_events_total', { outcome: 'rejected' });
    const ignored = metricTotal(fuzzed.metrics, 'feedgen_ingest_events_total', { outcome: 'ignored' }) - metricTotal(clean.metrics, 'feedgen_ingest_events_total', { outcome: 'ignored' });
    checks.check(
      'well-formed but unwanted frames (identity, other collections, updates) are ignored, not rejected',
      ignored === plan.ignored && rejectedEvents === badFrames,
      `${ignored} more ignored than the clean run, ${plan.ignored} sent; events_total{outcome=rejected} ${rejectedEvents}; by category ${categoryFigures(plan.byCategory)}`,
    );
    return checks.rows;
  },
};

interface Plan {
  frames: number;
  bytes: number;
  ignored: number;
  storedLikes: string[];
  byReason: Map<string, number>;
  byCategory: Map<BadCategory, number>;
}

/** Runs the mix once without sending it: what each frame must become. */
function tally(options: MixOptions): Plan {
  const plan: Plan = { frames: 0, bytes: 0, ignored: 0, storedLikes: [], byReason: new Map(), byCategory: new Map(BAD_CATEGORIES.map((c) => [c, 0])) };
  for (const { frame, expected } of fuzzMix(options)) {
    plan.frames++;
    plan.bytes += typeof frame.data === 'string' ? Buffer.byteLength(frame.data) : frame.data.length;
    if (expected.outcome === 'ignored') plan.ignored++;
    if (expected.outcome === 'stored') plan.storedLikes.push(expected.like);
    if (expected.outcome === 'rejected') {
      plan.byReason.set(expected.reason, (plan.byReason.get(expected.reason) ?? 0) + 1);
      plan.byCategory.set(expected.category, plan.byCategory.get(expected.category)! + 1);
    }
  }
  return plan;
}

function* mapFrames(mix: Iterable<{ frame: { data: string | Buffer; binary: boolean } }>) {
  for (const { frame } of mix) yield frame;
}

function reasonMismatches(metrics: string, expected: Map<string, number>): string[] {
  const counted = new Map(metricSamples(metrics, 'feedgen_ingest_rejections_total').map((s) => [s.labels.reason!, s.value]));
  const reasons = new Set([...expected.keys(), ...counted.keys()]);
  return [...reasons].filter((r) => (counted.get(r) ?? 0) !== (expected.get(r) ?? 0)).map((r) => `${r}: ${counted.get(r) ?? 0} counted, ${expected.get(r) ?? 0} expected`);
}

function reasonFigures(byReason: Map<string, number>): string {
  return [...byReason].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r} ${n}`).join(', ');
}

function categoryFigures(byCategory: Map<BadCategory, number>): string {
  return [...byCategory].map(([c, n]) => `${c} ${n}`).join(', ');
}

/** A short account of what differs, for the figures column. */
function difference(actual: readonly string[], expected: readonly string[]): string {
  const want = new Set(expected);
  const have = new Set(actual);
  const extra = actual.filter((v) => !want.has(v));
  const missing = expected.filter((v) => !have.has(v));
  if (extra.length === 0 && missing.length === 0) return 'no difference';
  const short = (v: string | undefined) => (v === undefined ? '-' : v.length > 100 ? `${v.slice(0, 100)}...` : v);
  return `${extra.length} unexpected (e.g. ${short(extra[0])}), ${missing.length} missing (e.g. ${short(missing[0])})`;
}
