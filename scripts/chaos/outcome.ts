/**
 * What a chaos scenario reports: one row per check, printed as the suite's table
 * (fault, what was checked, outcome, figures).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** `ci` fits the CI run (minutes in all); `full` is the size the issue names (2-minute outages, 20 kills...). */
export type ChaosSize = 'ci' | 'full';

export interface ChaosRow {
  fault: string;
  checked: string;
  ok: boolean;
  /** Measured numbers, short: "recovered in 1.8 s median, 3.1 s max". */
  figures: string;
}

export interface ChaosContext {
  size: ChaosSize;
  /** Progress for the person watching (stderr): long scenarios say where they are. */
  log(message: string): void;
  /** A temporary folder, removed when the scenario ends. */
  tempDir(): string;
}

export interface ChaosScenario {
  name: string;
  /** One line: the fault it injects. */
  summary: string;
  /** False for runs too long for CI (the soak): only with --only or --size full. */
  inCi: boolean;
  run(ctx: ChaosContext): Promise<ChaosRow[]>;
}

/** Collects a scenario's rows; a scenario reads as a list of `check(...)` calls. */
export class Checks {
  readonly rows: ChaosRow[] = [];

  constructor(private readonly fault: string) {}

  check(checked: string, ok: boolean, figures = ''): boolean {
    this.rows.push({ fault: this.fault, checked, ok, figures });
    return ok;
  }

  /** The failed row of a run that threw before its end. */
  threw(err: unknown): void {
    this.check(RAN_TO_ITS_END, false, errorFigure(err));
  }
}

/** What the row of a run that threw says it checked. */
export const RAN_TO_ITS_END = 'the scenario ran to its end';

/** An error's first three lines as one, for the figures column; `withStack` for a failure nobody planned for. */
export function errorFigure(err: unknown, withStack = false): string {
  const text = err instanceof Error ? ((withStack ? err.stack : undefined) ?? err.message) : String(err);
  return text.split('\n').slice(0, 3).join(' / ');
}

export function scenarioContext(name: string, size: ChaosSize): { ctx: ChaosContext; cleanup: () => void } {
  const dirs: string[] = [];
  const started = Date.now();
  const ctx: ChaosContext = {
    size,
    log: (message) => process.stderr.write(`[chaos ${name} +${((Date.now() - started) / 1000).toFixed(0)}s] ${message}\n`),
    tempDir: () => {
      const dir = mkdtempSync(path.join(tmpdir(), `feedgen-chaos-${name}-`));
      dirs.push(dir);
      return dir;
    },
  };
  return { ctx, cleanup: () => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })) };
}

/** The table: fixed-width columns, long cells wrapped by the terminal. */
export function formatTable(rows: ChaosRow[]): string {
  const header: ChaosRow = { fault: 'fault', checked: 'checked', ok: true, figures: 'figures' };
  const cells = [header, ...rows].map((r, i) => [r.fault, r.checked, i === 0 ? 'outcome' : r.ok ? 'pass' : 'FAIL', r.figures]);
  const widths = [0, 1, 2].map((c) => Math.max(...cells.map((row) => row[c]!.length)));
  const line = (row: string[]) => row.map((cell, c) => (c < 3 ? cell.padEnd(widths[c]!) : cell)).join(' | ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('-|-') + '-|--------', ...cells.slice(1).map(line)].join('\n');
}
