import { litestreamBinary } from './binary.js';
import { type LitestreamSettings, litestreamEnv } from './settings.js';
import { exitCode, supervise } from './supervisor.js';

export interface LitestreamRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs one short Litestream command (`generations`, `restore`, ...) on our config and
 * database, its log lines handed to `onLine` as they come. A non-zero exit is returned,
 * not thrown: callers say what failed.
 */
export async function runLitestream(
  settings: LitestreamSettings,
  command: string,
  args: string[],
  onLine: (line: string) => void = () => {},
): Promise<LitestreamRun> {
  const env = litestreamEnv(settings);
  const run = supervise(litestreamBinary(), [command, '-config', settings.configPath, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let partial = '';
  run.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  run.child.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stderr += text;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
  // A kill of this process alone (not its group) must stop the child too.
  const stop = () => void run.stop(5_000);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const status = await run.exited.finally(() => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  });
  if (partial) onLine(partial);
  return { code: exitCode(status), stdout, stderr };
}

/** The key=value fields of one of Litestream's text log lines. */
export function logFields(line: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of line.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const [, key, raw] = match;
    fields[key!] = raw!.startsWith('"') ? (JSON.parse(raw!) as string) : raw!;
  }
  return fields;
}
