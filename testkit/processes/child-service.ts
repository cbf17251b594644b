import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/bin/service.ts', import.meta.url));

/** Every child started here; a failed test must not leave one running. */
const running = new Set<ChildProcess>();
/** Those that lead a process group of their own (a launcher, with Litestream and the service). */
const detachedChildren = new WeakSet<ChildProcess>();
process.once('exit', () => running.forEach(kill));

/** SIGKILL to the child, or to its whole process group when it leads one. */
function kill(child: ChildProcess): void {
  try {
    if (detachedChildren.has(child)) process.kill(-child.pid!, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    // gone already
  }
}

/** Kills every child still running (for afterEach/afterAll). */
export function killAllServices(): void {
  running.forEach(kill);
  running.clear();
}

export interface TsChild {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
  /** SIGKILL to the child and, if it leads a process group, everything in it. */
  killAll(): void;
}

/**
 * A TypeScript entry of this repository as its own Node process, its output collected,
 * tracked so no test leaves it running. `detached`: a process group of its own.
 */
export function spawnTsChild(entry: string, env: Record<string, string>, options: { detached?: boolean } = {}): TsChild {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    // Follows off unless a test asks: no test reaches the public AppView.
    env: { ...process.env, LOG_LEVEL: 'warn', FOLLOWS_APPVIEW_URL: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  if (options.detached) detachedChildren.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return { child, exited, output: () => output, killAll: () => kill(child) };
}

/** The service as its own process (`node --import tsx src/bin/service.ts`), for crash and signal tests. */
export function spawnService(env: Record<string, string>): TsChild {
  return spawnTsChild(MAIN, env);
}
