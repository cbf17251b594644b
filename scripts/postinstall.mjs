// npm's postinstall: applies patches/ with patch-package. Every patched package is a dev
// dependency, so an install without them (`npm ci --omit=dev`) has neither patch-package
// nor anything to patch, and must not fail for it.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let patchPackage;
try {
  patchPackage = require.resolve('patch-package/index.js');
} catch {
  console.log('postinstall: patch-package is not installed (an install without dev packages): nothing to patch');
  process.exit(0);
}
const run = spawnSync(process.execPath, [patchPackage], { stdio: 'inherit' });
process.exit(run.status ?? 1);
