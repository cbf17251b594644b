/**
 * What a soak watches in a running process, read from /proc (Linux): resident memory
 * and open file descriptors.
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
