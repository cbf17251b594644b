/**
 * Real Litestream 0.3.13 replica files for tests and benchmarks: `litestream replicate`
 * run on a SQLite database into a file replica until it has written a snapshot (and the
 * WAL segments of whatever `afterSnapshot` writes), then stopped with SIGTERM.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { litestreamBinary } from '../../src/replication/litestream/binary.js';
import { waitFor } from '../polling/wait-for.js';

export interface LitestreamFiles {
  replicaDir: string;
  generation: string;
  /** Path of the generation's snapshot (`snapshots/00000000.snapshot.lz4`). */
  snapshot: string;
  /** Paths of its WAL segments, in key order. */
  walSegments: string[];
}

export interface ReplicateOptions {
  /** Runs once the snapshot is written; Litestream uploads what it writes as WAL segments. */
  afterSnapshot?: () => void;
  timeoutMs?: number;
}

/** Replicates the WAL-mode database at `dbPath` into `replicaDir` (a file replica, synced every 100 ms). */
export async function litestreamFilesOf(dbPath: string, replicaDir: string, options: ReplicateOptions = {}): Promise<LitestreamFiles> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const config = `${replicaDir}.yml`;
  fs.writeFileSync(config, `dbs:\n  - path: ${dbPath}\n    replicas:\n      - type: file\n        path: ${replicaDir}\n        sync-interval: 100ms\n`);
  // Litestream logs to stdout unless its config says otherwise.
  const child = spawn(litestreamBinary(), ['replicate', '-config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  for (const output of [child.stdout!, child.stderr!]) output.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const count = (message: string) => log.split('\n').filter((line) => line.includes(`msg="${message}"`)).length;
  try {
    await waitFor(() => (count('snapshot written') > 0 || child.exitCode !== null ? true : undefined), timeoutMs, 'litestream to write a snapshot');
    if (options.afterSnapshot) {
      const before = count('wal segment written');
      options.afterSnapshot();
      await waitFor(() => (count('wal segment written') > before || child.exitCode !== null ? true : undefined), timeoutMs, 'litestream to upload the WAL');
    }
  } finally {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
  if (count('snapshot written') === 0) throw new Error(`litestream exited with ${child.exitCode} before a snapshot: ${log.trim().split('\n').at(-1)}`);

  const generations = path.join(replicaDir, 'generations');
  const [generation] = fs.readdirSync(generations);
  if (!generation) throw new Error(`no generation under ${generations}`);
  const walDir = path.join(generations, generation, 'wal');
  const walSegments = fs.existsSync(walDir) ? fs.readdirSync(walDir).sort().map((name) => path.join(walDir, name)) : [];
  return { replicaDir, generation, snapshot: path.join(generations, generation, 'snapshots', '00000000.snapshot.lz4'), walSegments };
}
