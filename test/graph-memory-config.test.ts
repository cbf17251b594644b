import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromEnv, GRAPH_MEMORY_SHARE, MB } from '../src/config/config.js';
import { machineMemoryBytes } from '../src/config/machine-memory.js';

describe('GRAPH_MEMORY_MB', () => {
  const machine = { memoryBytes: 2048 * MB };

  it('defaults to a share of the machine, and takes a number of mebibytes', () => {
    expect(configFromEnv({}, machine).feed.graphMemoryBytes).toBe(Math.floor(2048 * GRAPH_MEMORY_SHARE) * MB);
    expect(configFromEnv({ GRAPH_MEMORY_MB: '700' }, machine).feed.graphMemoryBytes).toBe(700 * MB);
  });

  it('refuses a budget the machine cannot hold, or one that is not a positive whole number', () => {
    expect(() => configFromEnv({ GRAPH_MEMORY_MB: '4096' }, machine)).toThrow(/GRAPH_MEMORY_MB=4096 is more than this machine's memory \(2048 MB/);
    expect(() => configFromEnv({ GRAPH_MEMORY_MB: '0' }, machine)).toThrow(/GRAPH_MEMORY_MB/);
    expect(() => configFromEnv({ GRAPH_MEMORY_MB: 'lots' }, machine)).toThrow(/GRAPH_MEMORY_MB/);
  });
});

describe('machineMemoryBytes', () => {
  it("reads the cgroup's limit when one is set, and the machine's RAM when not", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'feedgen-cgroup-'));
    try {
      const file = path.join(dir, 'memory.max');
      writeFileSync(file, '1073741824\n');
      expect(machineMemoryBytes(file, 8 * 2 ** 30)).toBe(2 ** 30);
      writeFileSync(file, 'max\n');
      expect(machineMemoryBytes(file, 8 * 2 ** 30)).toBe(8 * 2 ** 30);
      // A limit above the RAM (cgroup v2 allows it) is no more memory than the RAM.
      writeFileSync(file, String(64 * 2 ** 30));
      expect(machineMemoryBytes(file, 8 * 2 ** 30)).toBe(8 * 2 ** 30);
      expect(machineMemoryBytes(path.join(dir, 'missing'), 8 * 2 ** 30)).toBe(8 * 2 ** 30);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
