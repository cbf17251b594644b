import fs from 'node:fs';
import { createRequire } from 'node:module';

/**
 * The platform's litestream executable (v0.3.13) from `@flydotio/litestream-<platform>-<arch>`,
 * the binaries of the `@flydotio/litestream` package. Only linux-x64 is a dependency (Fly's
 * machines, CI): the umbrella package's other platforms cannot be pinned in the lock file
 * here. Never its `.bin/litestream` script either: it runs the binary through spawnSync,
 * always exits 0, and leaves the binary orphaned on SIGTERM. LITESTREAM_BIN points at
 * another executable (a Mac, an image that installs Litestream another way).
 */
export function litestreamBinary(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.LITESTREAM_BIN?.trim();
  if (override) return override;
  const pkg = `@flydotio/litestream-${process.platform}-${process.arch}`;
  let binary: string;
  try {
    binary = createRequire(import.meta.url).resolve(`${pkg}/litestream`);
  } catch {
    throw new Error(`no Litestream binary for ${process.platform}-${process.arch}: ${pkg} is not installed (npm ci installs it on linux-x64; elsewhere set LITESTREAM_BIN to a litestream 0.3.13 binary)`);
  }
  fs.accessSync(binary, fs.constants.X_OK);
  return binary;
}
