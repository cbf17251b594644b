import { readdirSync, readFileSync } from 'node:fs';

export interface TreeProcess {
  pid: number;
  /** The command name (`litestream`, `node`...), as the kernel keeps it. */
  comm: string;
}

/**
 * Children, grandchildren, ... of `root`, nearest first, from the parent pids in /proc
 * (Linux). A launcher puts Litestream and the service in a process group of their own,
 * so the tree, not the group, is what holds them all.
 */
export function descendants(root: number): TreeProcess[] {
  const childrenOf = new Map<number, TreeProcess[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, hence the last ')'.
    const close = stat.lastIndexOf(')');
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    const list = childrenOf.get(ppid) ?? [];
    list.push({ pid: Number(entry), comm: stat.slice(stat.indexOf('(') + 1, close) });
    childrenOf.set(ppid, list);
  }
  const found: TreeProcess[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of childrenOf.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

/** The pids of Litestream and of the service under a primary's launcher, while they run. */
export function primaryProcesses(launcherPid: number): { litestream: number | undefined; service: number | undefined } {
  const tree = descendants(launcherPid);
  return {
    litestream: tree.find((p) => p.comm === 'litestream')?.pid,
    service: tree.filter((p) => p.comm === 'node' || p.comm === 'MainThread').at(-1)?.pid,
  };
}
