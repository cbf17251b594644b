import { readFileSync } from 'node:fs';
import os from 'node:os';

/** cgroup v2's limit for the processes of this container; `max` means none. */
export const CGROUP_MEMORY_MAX = '/sys/fs/cgroup/memory.max';

/**
 * The memory this process may use: the container's cgroup limit when one is set (a
 * container sees the host's RAM in os.totalmem() but is killed at its limit), else the
 * machine's RAM. A file that is missing or unreadable means no limit.
 */
export function machineMemoryBytes(cgroupFile = CGROUP_MEMORY_MAX, totalBytes = os.totalmem()): number {
  let raw: string;
  try {
    raw = readFileSync(cgroupFile, 'utf8').trim();
  } catch {
    return totalBytes;
  }
  if (!/^\d+$/.test(raw)) return totalBytes; // 'max'
  return Math.min(Number(raw), totalBytes);
}
