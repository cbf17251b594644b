/**
 * What the Litestream benchmarks do around their runs: children killed on exit, the
 * service built, a fresh output folder, the datasets a run had to generate removed after
 * it (unless kept), and the closing lines: the command, the total time, the JSON figures.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { buildService, REPO_ROOT } from '../../testkit/processes/processes.js';
import { ensureDataset } from './ingest-phase.js';
import { killChildrenOnExit } from './restore-children.js';

export interface BenchSession {
  /** bench-output/<name>/, emptied at the start. */
  outDir: string;
  /** The cached dataset of `likes` likes from `seed`, generated now if missing (and then removed at the end unless kept). */
  dataset(likes: number, seed: number): Promise<string>;
  /** Removes `entries` (under outDir) and the datasets generated for the run unless `keep`, prints the table and the closing lines, and exits. */
  finish(end: { keep: boolean; entries: string[]; printTable: () => void; figures: Record<string, unknown> }): never;
}

/** `name` is the npm script's (`bench:<name>`) and the output folder's. */
export function startBenchSession(name: string): BenchSession {
  killChildrenOnExit();
  const started = performance.now();
  const commandLine = `npm run bench:${name}${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  console.error(`${commandLine}\nbuilding the service...`);
  buildService();
  const outDir = path.join(REPO_ROOT, 'bench-output', name);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const generated: string[] = [];
  return {
    outDir,
    dataset: async (likes, seed) => {
      const datasetName = `likes-${likes}-seed${seed}`;
      const cached = existsSync(path.join(REPO_ROOT, 'bench-output', `${datasetName}.jsonl`));
      const file = await ensureDataset({ name: datasetName, seed, likes });
      if (!cached && !generated.includes(file)) generated.push(file);
      return file;
    },
    finish: ({ keep, entries, printTable, figures }) => {
      if (!keep) {
        for (const entry of entries) rmSync(path.resolve(outDir, entry), { recursive: true, force: true });
        for (const file of generated) rmSync(file, { force: true });
      }
      const totalMinutes = (performance.now() - started) / 60_000;
      printTable();
      console.log('');
      console.log(`command: ${commandLine}`);
      console.log(`total:   ${totalMinutes.toFixed(1)} min; logs in ${path.relative(REPO_ROOT, outDir)}/`);
      console.log(JSON.stringify({ ...figures, total_minutes: Number(totalMinutes.toFixed(1)) }));
      process.exit(0);
    },
  };
}
