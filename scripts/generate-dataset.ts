/**
 * Writes a seeded, reproducible Bluesky like stream (Jetstream v1 JSONL) to a file.
 *
 *   npm run generate -- --likes 2000000 --out data/likes-2m.jsonl [--seed 42] [--days 7]
 *     [--users N] [--posts N] [--communities N] [--end <RFC3339>] [--malformed-share 0.001]
 *
 * Progress goes to stderr; stdout gets only the final summary.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { writeDatasetFile } from '../testkit/dataset/file.js';
import {
  createDatasetStats,
  type DatasetOptions,
  type DatasetStats,
  EVENT_KINDS,
  type ResolvedDatasetOptions,
  resolveOptions,
} from '../testkit/dataset/generator.js';

const USAGE = `usage: npm run generate -- --likes N --out FILE [--seed 42] [--days 7] [--users N] [--posts N]
       [--communities N] [--end <RFC3339>] [--malformed-share 0.001]`;
const DEFAULT_SEED = 42;
const TTY_REDRAW_MS = 250;
const PLAIN_PROGRESS_STEP = 0.1;
const PROGRESS_BAR_WIDTH = 30;

class UsageError extends Error {}

interface CliArgs {
  options: DatasetOptions;
  out: string;
}

const FLAGS = {
  likes: { type: 'string' },
  out: { type: 'string' },
  seed: { type: 'string' },
  days: { type: 'string' },
  users: { type: 'string' },
  posts: { type: 'string' },
  communities: { type: 'string' },
  end: { type: 'string' },
  'malformed-share': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function readFlags(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** The arguments, or 'help' when usage was asked for. */
function parseCli(argv: string[]): CliArgs | 'help' {
  const values = readFlags(argv);
  if (values.help) return 'help';
  if (values.likes === undefined) throw new UsageError('--likes is required');
  if (values.out === undefined || values.out === '') throw new UsageError('--out is required');
  return {
    out: values.out,
    options: {
      seed: values.seed === undefined ? DEFAULT_SEED : parseNumberFlag('seed', values.seed),
      likes: parseNumberFlag('likes', values.likes),
      days: optionalNumberFlag('days', values.days),
      users: optionalNumberFlag('users', values.users),
      posts: optionalNumberFlag('posts', values.posts),
      communities: optionalNumberFlag('communities', values.communities),
      endTimeUs: values.end === undefined ? undefined : parseEndFlag(values.end),
      malformedShare: optionalNumberFlag('malformed-share', values['malformed-share']),
    },
  };
}

function parseNumberFlag(name: string, text: string): number {
  const value = Number(text.replaceAll('_', ''));
  if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`--${name}: not a number: ${JSON.stringify(text)}`);
  return value;
}

function optionalNumberFlag(name: string, text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseNumberFlag(name, text);
}

/** RFC 3339 only (Date.parse alone would take many other shapes). */
function parseEndFlag(text: string): number {
  const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
  const ms = Date.parse(text);
  if (!rfc3339.test(text) || !Number.isFinite(ms)) throw new UsageError(`--end: not an RFC 3339 time: ${JSON.stringify(text)}`);
  return ms * 1000;
}

/** A redrawn bar on a terminal; otherwise a plain line every 10% of the likes. */
class Progress {
  private readonly startedMs = Date.now();
  private lastDrawMs = 0;
  private nextStep = PLAIN_PROGRESS_STEP;

  constructor(
    private readonly targetLikes: number,
    private readonly stats: DatasetStats,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(): void {
    const now = Date.now();
    const done = this.stats.counts.like / this.targetLikes;
    if (this.stream.isTTY) {
      if (now - this.lastDrawMs < TTY_REDRAW_MS) return;
      this.lastDrawMs = now;
      this.stream.write(`\r${this.bar(done)} ${this.describe(done, now)}\x1b[K`);
    } else if (done >= this.nextStep) {
      while (this.nextStep <= done) this.nextStep += PLAIN_PROGRESS_STEP;
      this.stream.write(`generate: ${this.describe(done, now)}\n`);
    }
  }

  finish(): void {
    if (this.stream.isTTY) this.stream.write('\r\x1b[K');
  }

  private bar(done: number): string {
    const filled = Math.round(done * PROGRESS_BAR_WIDTH);
    return `[${'#'.repeat(filled)}${'.'.repeat(PROGRESS_BAR_WIDTH - filled)}]`;
  }

  private describe(done: number, now: number): string {
    const seconds = (now - this.startedMs) / 1000;
    const rate = seconds > 0 ? this.stats.lines / seconds : 0;
    const eta = done > 0 ? (seconds * (1 - done)) / done : Number.NaN;
    return (
      `${(done * 100).toFixed(1)}% ${formatCount(this.stats.counts.like)}/${formatCount(this.targetLikes)} likes, ` +
      `${formatCount(Math.round(rate))} lines/s, ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)} s` : '?'}`
    );
  }
}

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

function summary(out: string, options: ResolvedDatasetOptions, stats: DatasetStats, bytes: number, seconds: number): string {
  const rows: [string, string][] = [
    ...EVENT_KINDS.map((kind): [string, string] => [kind, formatCount(stats.counts[kind])]),
    ['lines', formatCount(stats.lines)],
    ['bytes', `${formatCount(bytes)} (${(bytes / 2 ** 20).toFixed(1)} MiB)`],
    ['seconds', `${seconds.toFixed(2)} (${formatCount(Math.round(stats.lines / seconds))} lines/s)`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const head =
    `wrote ${out}: seed ${options.seed}, ${formatCount(options.users)} users, ${formatCount(options.posts)} posts, ` +
    `${options.communities} communities, ${options.days} days to ${new Date(options.endTimeUs / 1000).toISOString()}`;
  return [head, ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)].join('\n') + '\n';
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  if (cli === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { options, out } = cli;
  let resolved: ResolvedDatasetOptions;
  try {
    // Resolve once here so the end time (default: now) is the same for the summary and the data.
    resolved = resolveOptions(options);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  await mkdir(dirname(out), { recursive: true });

  const stats = createDatasetStats();
  const progress = new Progress(resolved.likes, stats);
  const startedMs = Date.now();
  const bytes = await writeDatasetFile(out, resolved, { stats, afterChunk: () => progress.update() });
  progress.finish();
  process.stdout.write(summary(out, resolved, stats, bytes, (Date.now() - startedMs) / 1000));
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`generate-dataset: ${error.message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`generate-dataset: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
