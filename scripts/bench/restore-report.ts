/** The restore benchmark's closing table and JSON figures, from the results of its phases. */
import type { RequestCost } from './restore-cost.js';
import { HOURS_PER_MONTH, USD_PER_1000_REQUESTS } from './restore-cost.js';
import type { IngestRate, ReplicatedIngest } from './restore-ingest.js';
import type { RestoreMedians } from './restore-timing.js';
import { cell, count, round } from './figure-cells.js';

export interface RestoreBenchResults {
  likes: number;
  alone: IngestRate;
  replicated: ReplicatedIngest;
  /** The launcher's ingest that built the database restored in phase 3. */
  built: ReplicatedIngest;
  fromWal: RestoreMedians;
  fromSnapshot: RestoreMedians;
  /** The fresh snapshot's size as Litestream wrote it (lz4). */
  snapshotBytes: number;
  costs: RequestCost[];
  ratePerS: number;
  costSeconds: number;
}

/** The JSON line: flat keys, units in the names. */
export function restoreFigures(r: RestoreBenchResults): Record<string, unknown> {
  const { replicated, built } = r;
  const figures: Record<string, unknown> = {
    restore_s: round(r.fromSnapshot.oursS, 2),
    raw_restore_s: round(r.fromSnapshot.rawS, 2),
    restore_check_s: round(r.fromSnapshot.oursS - r.fromSnapshot.oursLitestreamS, 2),
    restore_from_wal_s: round(r.fromWal.oursS, 2),
    raw_restore_from_wal_s: round(r.fromWal.rawS, 2),
    restore_wal_mb: Math.round(built.log.walSegmentBytes / 1e6),
    restore_snapshot_mb: Math.round(r.snapshotBytes / 1e6),
    restore_db_mb: Math.round(r.fromSnapshot.bytes / 1e6),
    restore_rounds: r.fromSnapshot.rounds,
    ingest_events_per_s_without: Math.round(r.alone.eventsPerS),
    ingest_events_per_s_with: Math.round(replicated.eventsPerS),
    ingest_ratio_with_litestream: round(replicated.eventsPerS / r.alone.eventsPerS, 2),
    peak_wal_mb: round(replicated.peakWalBytes / 1e6, 1),
    build_peak_wal_mb: round(built.peakWalBytes / 1e6, 1),
    build_events_per_s: Math.round(built.eventsPerS),
    locked_errors: replicated.log.litestreamLocked + built.log.litestreamLocked,
    litestream_errors: replicated.log.litestreamErrors + built.log.litestreamErrors,
    litestream_shutdown_errors: replicated.log.litestreamShutdownErrors + built.log.litestreamShutdownErrors,
    service_locked_errors: replicated.log.serviceLocked + built.log.serviceLocked,
    cost_rate_events_per_s: r.ratePerS,
  };
  for (const cost of r.costs) {
    const { PUT, GET, LIST, DELETE } = cost.requestsPerHour;
    figures[`s3_requests_per_hour_${cost.syncInterval}`] = { PUT: Math.round(PUT), GET: Math.round(GET), LIST: Math.round(LIST), DELETE: Math.round(DELETE) };
    figures[`s3_month_usd_${cost.syncInterval}`] = round(cost.usdPerMonth, 2);
    figures[`wal_segments_per_hour_${cost.syncInterval}`] = Math.round(cost.walSegmentsPerHour);
    figures[`wal_mb_per_hour_${cost.syncInterval}`] = Math.round(cost.walMbPerHour);
  }
  return figures;
}

export function printRestoreTable(r: RestoreBenchResults): void {
  const { replicated, built, fromWal, fromSnapshot } = r;
  const both = (key: keyof ReplicatedIngest['log']) => `${replicated.log[key]} + ${built.log[key]}`;
  const restoreRow = (label: string, m: RestoreMedians) =>
    `  ${label.padEnd(40)} ${cell(`${m.oursS.toFixed(1)} s (${m.oursLitestreamS.toFixed(1)} s + check)`, 22)}   ${cell(`${m.rawS.toFixed(1)} s`, 12)}`;
  const prices = `PUT and LIST $${USD_PER_1000_REQUESTS.PUT}, GET $${USD_PER_1000_REQUESTS.GET} per 1,000; DELETE free`;

  console.log('');
  console.log(`ingest at full speed (${count(r.likes)} likes, ${count(replicated.events)} events)`);
  console.log(`  without Litestream        ${cell(count(r.alone.eventsPerS), 8)} events/s  (SQLite checkpoints itself every 10,000 pages)`);
  console.log(`  with Litestream           ${cell(count(replicated.eventsPerS), 8)} events/s  (Litestream checkpoints, sync 1s, to the local S3 server)`);
  console.log(`  ratio                     ${cell((replicated.eventsPerS / r.alone.eventsPerS).toFixed(2), 8)}`);
  console.log(`  peak WAL                  ${cell(mb(replicated.peakWalBytes), 8)}           (${mb(built.peakWalBytes)} while building the restore database)`);
  console.log(`  Litestream log            ${cell(both('litestreamLocked'), 8)} "database is locked", ${both('litestreamErrors')} level=ERROR (this run + the build)`);
  console.log(`                            ${cell(both('litestreamShutdownErrors'), 8)} level=ERROR after the stop signal`);
  console.log(`  service log               ${cell(both('serviceLocked'), 8)} "database is locked" (this run + the build)`);
  console.log('');
  console.log(`restore of a ${mb(fromSnapshot.bytes)} database from the local S3 server (median of ${fromSnapshot.rounds}, order alternated; warm page cache)`);
  console.log(`  ${'replica'.padEnd(40)}     npm run restore path   bare litestream restore`);
  console.log(restoreRow(`fresh snapshot (${mb(r.snapshotBytes)} lz4)`, fromSnapshot));
  console.log(restoreRow(`first snapshot + ${mb(built.log.walSegmentBytes)} of WAL`, fromWal));
  console.log('');
  console.log(`S3 requests at ${count(r.ratePerS)} events/s, counted over ${r.costSeconds} s, per hour and priced for ${HOURS_PER_MONTH} h (${prices})`);
  console.log('  sync     events/s     PUT/h     GET/h    LIST/h  DELETE/h  WAL objects/h   WAL MB/h    $/month');
  for (const cost of r.costs) {
    const q = cost.requestsPerHour;
    const cells = [cell(count(cost.eventsPerS), 10), cell(count(q.PUT), 9), cell(count(q.GET), 9), cell(count(q.LIST), 9), cell(count(q.DELETE), 9)];
    cells.push(cell(count(cost.walSegmentsPerHour), 14), cell(count(cost.walMbPerHour), 10), cell(cost.usdPerMonth.toFixed(2), 10));
    console.log(`  ${cost.syncInterval.padEnd(6)} ${cells.join(' ')}`);
  }
  console.log('  (WAL MB before compression; the hourly snapshot and retention sweep fall outside the window: a few requests an hour more)');
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;
