/**
 * A small data volume that can really fill up: a tmpfs of a fixed size (we run as root),
 * and a filler file that takes whatever space is left. No stand-in: SQLite and Litestream
 * get ENOSPC from the kernel, as on a full Fly volume.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export interface TmpfsVolume {
  dir: string;
  /** Writes a file until the volume answers ENOSPC; returns its size. */
  fill(): number;
  /** Removes the filler: the space comes back. */
  free(): void;
  unmount(): void;
}

export function mountTmpfs(dir: string, sizeMb: number): TmpfsVolume {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`mount a ${sizeMb} MB tmpfs on ${dir} (needs root): ${stderr || String(err)}`);
  }
  const filler = path.join(dir, 'filler');
  return {
    dir,
    fill: () => {
      const fd = openSync(filler, 'a');
      let written = 0;
      try {
        // Large chunks first, then pages, so the last few kilobytes are taken too.
        for (const chunkBytes of [1 << 20, 4096, 512]) {
          const chunk = Buffer.alloc(chunkBytes, 0x5a);
          for (;;) {
            try {
              written += writeSync(fd, chunk);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw err;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
      return written;
    },
    free: () => rmSync(filler, { force: true }),
    unmount: () => {
      // Lazy: a process still holding a file there must not keep the mount (or fail the run).
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    },
  };
}
