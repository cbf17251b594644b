/**
 * Every child process the restore benchmark starts, killed with all its descendants when
 * the benchmark exits for any reason. The launcher puts Litestream (and the service under
 * it) in a process group of its own, so killing the launcher's group is not enough: the
 * whole tree is found and each process killed.
 */
import type { ChildProcess } from 'node:child_process';
import { descendants } from '../../testkit/processes/process-tree.js';

const tracked = new Set<ChildProcess>();

/** Kills `child` and its descendants when this process exits (unless it has exited first). */
export function track<T extends ChildProcess>(child: T): T {
  tracked.add(child);
  child.once('exit', () => tracked.delete(child));
  return child;
}

/** Installs the exit hooks once: Ctrl-C and failures leave no launcher, Litestream or service behind. */
export function killChildrenOnExit(): void {
  process.once('exit', () => {
    for (const child of tracked) if (child.pid !== undefined) killTree(child.pid);
  });
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
}

/** SIGKILL to `pid` and everything below it, its own process groups included. */
export function killTree(pid: number): void {
  for (const target of [pid, ...descendants(pid).map((p) => p.pid)]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** `work`, or a rejection as soon as `child` exits first (a dead service never settles). */
export function unlessExited<T>(child: ChildProcess, what: string, work: Promise<T>): Promise<T> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`${what} is not running`));
  let onExit: (code: number | null) => void = () => {};
  const exited = new Promise<never>((_, reject) => {
    onExit = (code) => reject(new Error(`${what} exited with ${code} while it was still needed`));
    child.once('exit', onExit);
  });
  return Promise.race([work, exited]).finally(() => child.off('exit', onExit));
}
