/**
 * What a soak watches in a running process, read from /proc (Linux): resident memory
 * and open file descriptors, and the processes under a launcher (Litestream, the service).
 */
import fs from 'node:fs';

export interface ProcessSample {
  rssBytes: number;
  /** The file-backed part of the RSS (code, mapped files); the rest is heaps and malloc. */
  rssFileBytes: number;
  fds: number;
}

/** RSS and open fds of `pid`, or undefined once it is gone. */
export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    return { rssBytes: kb('VmRSS'), rssFileBytes: kb('RssFile'), fds: fs.readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

/** Every process below `pid`, with its command name (`litestream`, `node`...). */
export function descendants(pid: number): Array<{ pid: number; comm: string }> {
  const found: Array<{ pid: number; comm: string }> = [];
  const visit = (parent: number) => {
    let children: number[] = [];
    try {
      for (const task of fs.readdirSync(`/proc/${parent}/task`)) {
        children.push(...fs.readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
      }
    } catch {
      return; // gone
    }
    children = [...new Set(children)];
    for (const child of children) {
      let comm = '';
      try {
        comm = fs.readFileSync(`/proc/${child}/comm`, 'utf8').trim();
      } catch {
        continue;
      }
      found.push({ pid: child, comm });
      visit(child);
    }
  };
  visit(pid);
  return found;
}

/** Median of a list of numbers (NaN when empty). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
