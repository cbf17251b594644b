/**
 * Every child process the restore benchmark starts, killed with all its descendants when
 * the benchmark exits for any reason. The launcher puts Litestream (and the service under
 * it) in a process group of its own, so killing the launcher's group is not enough: the
 * whole tree is found through /proc and each process killed.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

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
  for (const target of [pid, ...descendants(pid)]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** Children, grandchildren, ... of `root`, from the parent pids in /proc (Linux). */
function descendants(root: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Fields after "pid (comm) ": state, ppid, ...; comm may hold spaces, hence the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = childrenOf.get(ppid) ?? [];
    list.push(Number(entry));
    childrenOf.set(ppid, list);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of childrenOf.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
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
