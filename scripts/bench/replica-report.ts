/** The replica benchmark's closing table and JSON figures, from the runs at each rate. */
import type { RequestClass } from '../../testkit/standins/s3-server.js';
import type { Percentiles } from './replica-lag.js';
import type { FollowerCounters } from './replica-process.js';
import type { RateRun, ReplicaFigures } from './replica-run.js';
import { HOURS_PER_MONTH, monthlyUsd, USD_PER_1000_REQUESTS } from './restore-cost.js';
import { cell, count, round } from './figure-cells.js';

/** The Bluesky firehose: the rate the per-month price is quoted at. */
export const FIREHOSE_RATE = 2000;
const TARGET_LAG_P99_S = 3;
const TARGET_USD_PER_MONTH = 2;

/** What the benchmark was asked for, the same for every rate. */
export interface ReplicaBenchSettings {
  pollMs: number;
  sampleMs: number;
  warmupS: number;
  windowS: number;
  replicas: number;
}

/** One replica's requests over a window, per hour, and priced for a month. */
export function replicaCost(follower: FollowerCounters, windowS: number): { getPerHour: number; listPerHour: number; usdPerMonth: number } {
  const perHour = 3600 / windowS;
  const requests: Record<RequestClass, number> = { PUT: 0, GET: follower.GET * perHour, LIST: follower.LIST * perHour, DELETE: 0, OTHER: 0 };
  return { getPerHour: requests.GET, listPerHour: requests.LIST, usdPerMonth: monthlyUsd(requests) };
}

/** The JSON line: flat keys, units in the names, one set per rate (`_2k`, `_20k`). */
export function replicaFigures(runs: RateRun[], settings: ReplicaBenchSettings): Record<string, unknown> {
  const figures: Record<string, unknown> = {};
  for (const run of runs) {
    const k = rateKey(run.ratePerS);
    const costs = run.replicas.map((r) => replicaCost(r.follower, run.windowS));
    Object.assign(figures, {
      [`lag_p50_s_${k}`]: round(run.heartbeatLag.p50, 2),
      [`lag_p99_s_${k}`]: round(run.heartbeatLag.p99, 2),
      [`lag_max_s_${k}`]: round(run.heartbeatLag.max, 2),
      [`commit_lag_p50_s_${k}`]: round(run.commitLag.p50, 2),
      [`commit_lag_p99_s_${k}`]: round(run.commitLag.p99, 2),
      [`commit_lag_max_s_${k}`]: round(run.commitLag.max, 2),
      [`commit_lag_undelivered_${k}`]: run.commitLag.undelivered,
      [`follower_cpu_share_${k}`]: round(mean(run.replicas.map((r) => r.cpuShare)), 3),
      [`s3_get_per_hour_${k}`]: Math.round(mean(costs.map((c) => c.getPerHour))),
      [`s3_list_per_hour_${k}`]: Math.round(mean(costs.map((c) => c.listPerHour))),
      [`s3_usd_per_replica_month_${k}`]: round(mean(costs.map((c) => c.usdPerMonth)), 2),
      [`primary_events_per_s_${k}`]: Math.round(run.primaryEventsPerS),
      [`wal_segments_per_s_${k}`]: round(run.walSegments / run.windowS, 2),
      [`wal_indexes_per_s_${k}`]: round(run.walIndexes / run.windowS, 2),
    });
  }
  // The headline figures: CPU and price at the firehose rate (or the lowest rate run).
  const firehose = runs.find((r) => r.ratePerS === FIREHOSE_RATE) ?? [...runs].sort((a, b) => a.ratePerS - b.ratePerS)[0];
  if (firehose) {
    const k = rateKey(firehose.ratePerS);
    figures.follower_cpu_share = figures[`follower_cpu_share_${k}`];
    figures.s3_usd_per_replica_month = figures[`s3_usd_per_replica_month_${k}`];
  }
  const worstP99 = Math.max(...runs.map((r) => r.heartbeatLag.p99));
  figures.lag_target_met = worstP99 < TARGET_LAG_P99_S;
  figures.cost_target_met = Number(figures.s3_usd_per_replica_month) < TARGET_USD_PER_MONTH;
  Object.assign(figures, {
    lag_definition: 'heartbeat: now - primary heartbeat held by the replica (/xrpc/_health)',
    replicas: settings.replicas,
    poll_ms: settings.pollMs,
    sample_ms: settings.sampleMs,
    window_s: settings.windowS,
    sync_interval_s: 1,
  });
  return figures;
}

export function printReplicaTable(runs: RateRun[], settings: ReplicaBenchSettings): void {
  const prices = `GET $${USD_PER_1000_REQUESTS.GET}, LIST $${USD_PER_1000_REQUESTS.LIST} per 1,000`;
  console.log('');
  console.log(
    `replica lag: Litestream sync 1 s, REPLICA_POLL_MS ${settings.pollMs}, ${settings.replicas} replica(s), ` +
      `sampled every ${settings.sampleMs} ms over ${settings.windowS} s after a ${settings.warmupS} s warm-up`,
  );
  console.log('  heartbeat lag: now − the primary heartbeat the copy holds, from /xrpc/_health (the heartbeat moves once a second)');
  console.log(`  commit lag:    a like's commit on the primary's file → its id in the replica's file (both polled, ± ${settings.sampleMs} ms)`);
  console.log('');
  console.log('  rate ev/s  primary ev/s  replica  heartbeat lag p50/p99/max s  commit lag p50/p99/max s  CPU share');
  for (const run of runs) {
    const rows: Array<[string, { heartbeatLag: Percentiles; commitLag: Percentiles }, number]> = run.replicas.map((r, i) => [`#${i}`, r, r.cpuShare]);
    if (run.replicas.length > 1) rows.push(['all', run, mean(run.replicas.map((r) => r.cpuShare))]);
    for (const [label, lag, cpu] of rows) {
      const cells = [cell(count(run.ratePerS), 11), cell(count(run.primaryEventsPerS), 13), cell(label, 8), cell(triple(lag.heartbeatLag), 28), cell(triple(lag.commitLag), 25)];
      console.log(`${cells.join(' ')} ${cell(`${(cpu * 100).toFixed(1)}%`, 10)}`);
    }
  }
  for (const run of runs.filter((r) => r.commitLag.undelivered > 0)) {
    console.log(`  at ${count(run.ratePerS)} ev/s, ${run.commitLag.undelivered} commit(s) not on a replica 10 s after the window: counted at the last sample (a lower bound)`);
  }
  console.log('');
  console.log(`  follower per replica over the window; requests per hour and priced for ${HOURS_PER_MONTH} h (${prices}; a replica makes no PUT)`);
  console.log('  rate ev/s  replica  WAL segs/s (new index)  applied/s  GET/s   GET/h  LIST/h  $/month  applied MB/s  apply ms  errors  sample errors');
  for (const run of runs) {
    run.replicas.forEach((r, i) => console.log(followerRow(run, r, i)));
  }
  console.log('  (WAL segs/s: objects Litestream uploaded, (new index): of them, the first of a WAL index after a checkpoint;');
  console.log('   applied/s: segments the follower applied; applied MB: decompressed WAL; sample errors: health requests + reads of the copy mid-apply)');
}

function followerRow(run: RateRun, r: ReplicaFigures, i: number): string {
  const cost = replicaCost(r.follower, run.windowS);
  const applyMs = r.follower.applies > 0 ? (r.follower.applySeconds / r.follower.applies) * 1000 : Number.NaN;
  return [
    cell(count(run.ratePerS), 11),
    cell(`#${i}`, 8),
    cell(`${(run.walSegments / run.windowS).toFixed(2)} (${(run.walIndexes / run.windowS).toFixed(2)})`, 22),
    cell((r.follower.applies / run.windowS).toFixed(2), 10),
    cell((r.follower.GET / run.windowS).toFixed(2), 6),
    cell(count(cost.getPerHour), 7),
    cell(count(cost.listPerHour), 7),
    cell(cost.usdPerMonth.toFixed(2), 8),
    cell((r.follower.appliedBytes / 1e6 / run.windowS).toFixed(2), 13),
    cell(applyMs.toFixed(1), 9),
    cell(String(r.follower.followErrors), 7),
    cell(`${r.sampleErrors.health} + ${r.sampleErrors.file}`, 14),
  ].join(' ');
}

/** 2000 → "2k", 20000 → "20k", 1500 → "1500". */
export function rateKey(ratePerS: number): string {
  return ratePerS % 1000 === 0 ? `${ratePerS / 1000}k` : String(ratePerS);
}

const triple = (p: Percentiles) => `${p.p50.toFixed(2)} / ${p.p99.toFixed(2)} / ${p.max.toFixed(2)}`;
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
