import fs from 'node:fs';
import { createRequire } from 'node:module';

/**
 * The platform's litestream executable from `@flydotio/litestream-<platform>-<arch>`.
 * Never the package's `node_modules/.bin/litestream` script: it runs the binary through
 * spawnSync, always exits 0, and leaves the binary orphaned when it gets SIGTERM.
 * LITESTREAM_BIN points elsewhere (an image that installs Litestream another way).
 */
export function litestreamBinary(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.LITESTREAM_BIN?.trim();
  if (override) return override;
  const pkg = `@flydotio/litestream-${process.platform}-${process.arch}`;
  let binary: string;
  try {
    binary = createRequire(import.meta.url).resolve(`${pkg}/litestream`);
  } catch {
    throw new Error(`no Litestream binary for ${process.platform}-${process.arch}: ${pkg} is not installed (npm ci installs it, or set LITESTREAM_BIN)`);
  }
  fs.accessSync(binary, fs.constants.X_OK);
  return binary;
}
