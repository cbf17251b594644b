import fs from 'node:fs';
import path from 'node:path';
import { type LitestreamRun, logFields, runLitestream } from './run.js';
import type { LitestreamSettings } from './settings.js';
import { withWritableNewFile } from '../../store/database.js';

/** One row of `litestream generations`. */
export interface Generation {
  replica: string;
  generation: string;
  lag: string;
  start: string;
  end: string;
}

export type RestoreProgress =
  | { stage: 'snapshot'; generation: string; index: number }
  | { stage: 'wal'; index: number; first: number; last: number }
  | { stage: 'check' };

export interface RestoreRequest {
  output: string;
  /** RFC 3339; the latest state when omitted. */
  timestamp?: string;
  onProgress?: (progress: RestoreProgress) => void;
}

export interface RestoreSummary {
  output: string;
  seconds: number;
  bytes: number;
  /** Newest heartbeat in the restored file (ms since the epoch): how recent the state is. */
  heartbeatMs: number | undefined;
  /** Time of the newest stored like (µs since the epoch). */
  newestLikeUs: number | undefined;
  likes: number;
  /** Set when the time fell between generations: this generation was restored to its end. */
  endOfGeneration: string | undefined;
}

export class RestoreError extends Error {
  override name = 'RestoreError';
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The generations the replica holds for our database, newest data last. */
export async function listGenerations(settings: LitestreamSettings): Promise<Generation[]> {
  const run = await runLitestream(settings, 'generations', [settings.dbPath]);
  if (run.code !== 0) throw new RestoreError(`litestream generations failed: ${lastLine(run.stderr)}`);
  return run.stdout
    .split('\n')
    .slice(1) // header
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length === 5)
    .map(([replica, generation, lag, start, end]) => ({ replica: replica!, generation: generation!, lag: lag!, start: start!, end: end! }));
}

/**
 * Restores the replica into a new file, then checks it. Refuses any existing file (the
 * live database above all): a restore never overwrites, the operator swaps (README).
 */
export async function restoreDatabase(settings: LitestreamSettings, request: RestoreRequest): Promise<RestoreSummary> {
  const output = checkRestoreRequest(settings, request);
  fs.mkdirSync(path.dirname(output), { recursive: true });

  const started = performance.now();
  let generation: string | undefined;
  let run = await restoreRun(settings, output, request.timestamp ? ['-timestamp', request.timestamp] : [], request.onProgress);
  if (request.timestamp && noBackupFound(run)) {
    // Litestream 0.3.13 restores a time only inside one generation's span (first to last
    // upload). A time between generations (the primary was down, or moved to a new volume)
    // holds what the last generation before it ended with.
    generation = latestEndingBefore(await listGenerations(settings), Date.parse(request.timestamp));
    if (generation) run = await restoreRun(settings, output, ['-generation', generation], request.onProgress);
  }
  if (run.code !== 0 || !fs.existsSync(output)) {
    const reason = noBackupFound(run) ? `no backup covers ${request.timestamp ?? 'the latest state'}` : lastLine(run.stderr);
    throw new RestoreError(`litestream restore failed: ${reason}`);
  }

  // Litestream's restore leaves its temporary file's -wal/-shm behind.
  for (const leftover of [`${output}.tmp-wal`, `${output}.tmp-shm`]) fs.rmSync(leftover, { force: true });
  request.onProgress?.({ stage: 'check' });
  const seconds = (performance.now() - started) / 1000;
  return { output, seconds, bytes: fs.statSync(output).size, endOfGeneration: generation, ...inspect(output) };
}

function restoreRun(settings: LitestreamSettings, output: string, target: string[], onProgress: RestoreRequest['onProgress']): Promise<LitestreamRun> {
  let walRange = { first: 0, last: 0 };
  return runLitestream(settings, 'restore', ['-o', output, ...target, settings.dbPath], (line) => {
    const fields = logFields(line);
    switch (fields.msg) {
      case 'restoring snapshot':
        onProgress?.({ stage: 'snapshot', generation: fields.generation ?? '?', index: Number(fields.index) });
        break;
      case 'restoring wal files':
        walRange = { first: Number(fields.index_min), last: Number(fields.index_max) };
        break;
      case 'applied wal':
        onProgress?.({ stage: 'wal', index: Number(fields.index), ...walRange });
        break;
    }
  });
}

function noBackupFound(run: LitestreamRun): boolean {
  return /no matching backups found/.test(run.stderr + run.stdout);
}

/** The generation whose last upload is the newest one at or before `timeMs`. */
export function latestEndingBefore(generations: Generation[], timeMs: number): string | undefined {
  let best: Generation | undefined;
  for (const g of generations) {
    const end = Date.parse(g.end);
    if (end <= timeMs && (!best || end > Date.parse(best.end))) best = g;
  }
  return best?.generation;
}

/** The absolute output path, or a RestoreError saying what is wrong with the request. */
export function checkRestoreRequest(settings: LitestreamSettings, request: RestoreRequest): string {
  const output = path.resolve(request.output);
  if (output === path.resolve(settings.dbPath)) {
    throw new RestoreError(`${output} is the live database: restore to a new file, then stop the primary and swap (see the README)`);
  }
  for (const file of [output, `${output}-wal`, `${output}-shm`, `${output}.tmp`]) {
    if (fs.existsSync(file)) throw new RestoreError(`${file} exists; a restore never overwrites a file`);
  }
  if (request.timestamp !== undefined && !(RFC3339.test(request.timestamp) && Number.isFinite(Date.parse(request.timestamp)))) {
    throw new RestoreError(`--timestamp ${JSON.stringify(request.timestamp)} is not an RFC 3339 time such as 2026-11-27T08:00:00Z`);
  }
  return output;
}

/**
 * integrity_check, then what the file holds. Opened read-write (the file is new and
 * ours): closing it then removes the -wal/-shm files a read-only connection would leave.
 */
function inspect(file: string): Pick<RestoreSummary, 'heartbeatMs' | 'newestLikeUs' | 'likes'> {
  return withWritableNewFile(file, (db) => {
    const problems = db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
    if (problems.length !== 1 || problems[0]!.integrity_check !== 'ok') {
      throw new RestoreError(`integrity_check failed on ${file}: ${problems.slice(0, 5).map((p) => p.integrity_check).join('; ')}`);
    }
    const heartbeat = db.prepare('SELECT time_ms FROM heartbeat WHERE id = 1').pluck().get() as number | undefined;
    // The last row written, not max(time_us): likes have no time index, and this is instant.
    const newestLike = db.prepare('SELECT time_us FROM likes ORDER BY id DESC LIMIT 1').pluck().get() as number | undefined;
    const likes = db.prepare('SELECT count(*) FROM likes WHERE deleted = 0').pluck().get() as number;
    return { heartbeatMs: heartbeat, newestLikeUs: newestLike, likes };
  });
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '(no output)';
}
