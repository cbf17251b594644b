/**
 * Restore of the replica into fresh files, two ways side by side: our path
 * (`restoreDatabase`, what `npm run restore` runs: Litestream's restore, then
 * integrity_check and a look at what the file holds) and the bare
 * `litestream restore -config litestream.yml -o <file> <db>`. Rounds alternate which
 * goes first, so neither always gets the warmer page cache.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { litestreamBinary } from '../../src/replication/litestream/binary.js';
import { restoreDatabase } from '../../src/replication/litestream/restore.js';
import { type LitestreamSettings, litestreamEnv } from '../../src/replication/litestream/settings.js';
import { track } from './restore-children.js';

export interface RestoreMedians {
  /** restoreDatabase, start to finish. */
  oursS: number;
  /** Of which Litestream's restore itself (the rest is integrity_check and the counts). */
  oursLitestreamS: number;
  rawS: number;
  /** Size of the restored file. */
  bytes: number;
  rounds: number;
}

export async function timeRestores(settings: LitestreamSettings, workDir: string, rounds: number): Promise<RestoreMedians> {
  const ours: number[] = [];
  const oursLitestream: number[] = [];
  const raw: number[] = [];
  let bytes = 0;
  const timeOurs = async () => {
    const output = path.join(workDir, 'restored-by-script.db');
    const started = performance.now();
    const summary = await restoreDatabase(settings, { output });
    ours.push((performance.now() - started) / 1000);
    oursLitestream.push(summary.seconds);
    bytes = summary.bytes;
    removeRestored(output);
  };
  const timeRaw = async () => {
    const output = path.join(workDir, 'restored-by-litestream.db');
    raw.push(await rawRestore(settings, output));
    removeRestored(output);
  };
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? [timeOurs, timeRaw] : [timeRaw, timeOurs];
    for (const time of order) await time();
    console.error(`  round ${round}/${rounds}: npm run restore path ${ours.at(-1)!.toFixed(1)} s, bare litestream restore ${raw.at(-1)!.toFixed(1)} s`);
  }
  return { oursS: median(ours), oursLitestreamS: median(oursLitestream), rawS: median(raw), bytes, rounds };
}

/** `litestream restore` run by hand as the README shows it, with the env litestream.yml expands. */
async function rawRestore(settings: LitestreamSettings, output: string): Promise<number> {
  const started = performance.now();
  const args = ['restore', '-config', settings.configPath, '-o', output, settings.dbPath];
  const child = track(spawn(litestreamBinary(), args, { env: litestreamEnv(settings), stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0 || !existsSync(output)) throw new Error(`bare litestream restore exited with ${code}: ${stderr.trim().split('\n').at(-1)}`);
  return seconds;
}

/** The restored file and what SQLite and Litestream leave beside it. */
function removeRestored(output: string): void {
  for (const suffix of ['', '-wal', '-shm', '.tmp', '.tmp-wal', '.tmp-shm']) rmSync(`${output}${suffix}`, { force: true });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
